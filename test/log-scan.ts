// After a full run: no secret a test used may appear in any server log of that run.
import fs from 'node:fs';
import path from 'node:path';

export function scanLogs(dir: string): { secrets: number; logBytes: number; leaks: string[] } {
  const files = fs.readdirSync(dir);
  const secrets = new Set<string>();
  for (const f of files.filter((f) => f.startsWith('secrets-'))) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) if (line) secrets.add(JSON.parse(line));
  }
  let logs = '';
  for (const f of files.filter((f) => f.startsWith('server-'))) logs += fs.readFileSync(path.join(dir, f), 'utf8');
  // A bare lower-case word (a fuzzer's "password" of "arguments") also occurs in ordinary log
  // text: only values with something else in them count as secrets.
  const leaks = [...secrets].filter((s) => !/^[a-z]+$/.test(s)).filter((s) => logs.includes(s) || logs.includes(JSON.stringify(s).slice(1, -1)));
  // Whatever a test noted or not: no hash and no JWT belongs in a log.
  if (logs.includes('$argon2')) leaks.push('an argon2 hash');
  if (/eyJ[\w-]{10,}\.eyJ[\w-]{10,}\./.test(logs)) leaks.push('a JWT');
  return { secrets: secrets.size, logBytes: logs.length, leaks };
}
