// Prints the plain closing line "N passed, N failed, N skipped": tests, and skipped suites
// (a whole engine's half skipped counts once).
export default async function* summary(source) {
  let passed = 0, failed = 0, skipped = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.skip || event.data.todo) {
      skipped++;
      continue;
    }
    // A suite counts only when it fails (a failing hook): its passes are its tests'.
    if (event.data.details?.type === 'suite' && event.type === 'test:pass') continue;
    if (event.type === 'test:pass') passed++;
    else failed++;
  }
  yield `${passed} passed, ${failed} failed, ${skipped} skipped\n`;
}
