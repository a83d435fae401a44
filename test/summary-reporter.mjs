// Prints the plain closing line "N passed, N failed, N skipped" (tests, not suites).
export default async function* summary(source) {
  let passed = 0, failed = 0, skipped = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.details?.type === 'suite') continue;
    if (event.data.skip || event.data.todo) skipped++;
    else if (event.type === 'test:pass') passed++;
    else failed++;
  }
  yield `${passed} passed, ${failed} failed, ${skipped} skipped\n`;
}
