// The import's progress on standard error: a bar with rate and ETA on a terminal, plain lines
// (at most one a second, and the last) when standard error is a file or a pipe.
export function progressReporter(stream: NodeJS.WriteStream = process.stderr, now: () => number = () => performance.now()) {
  const start = now();
  let lastLine = -Infinity;
  const tty = Boolean(stream.isTTY);
  const fmt = (n: number) => n.toLocaleString('en-US');
  return (done: number, total: number): void => {
    const elapsed = (now() - start) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 ? Math.ceil((total - done) / rate) : undefined;
    const tail = `${fmt(done)}/${fmt(total)} users  ${fmt(Math.round(rate))}/s  ${done === total ? `done in ${elapsed.toFixed(1)} s` : `ETA ${eta === undefined ? '?' : `${eta} s`}`}`;
    if (tty) {
      const width = 30;
      const filled = total ? Math.round((done / total) * width) : width;
      stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${tail}\x1b[K${done === total ? '\n' : ''}`);
    } else if (done === total || now() - lastLine >= 1000) {
      if (done === 0 && total > 0) return;
      lastLine = now();
      stream.write(`import: ${tail}\n`);
    }
  };
}
