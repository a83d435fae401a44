// SIGTERM drains: requests in flight when the signal comes all complete (2xx), new connections
// are refused from then on, and the process exits with code 0. Half of the in-flight requests
// are sign-ins still being hashed; the other half have not even finished sending their body
// when the signal arrives (so they are certainly in flight), and send its last byte only once
// the server refuses new connections.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { IN_CI, TEST_PG_URL, canConnect, freshPgDatabase, startServer, until, type Server } from '../helpers/processes.ts';
import { noteSecretsIn } from '../helpers/secret-log.ts';

const ADMIN = 'root';
const ADMIN_PASSWORD = 'sigterm-admin-pw-c41d';
const BATCH = 20;

/** Reads every HTTP/1.1 answer (with Content-Length bodies) out of one connection's bytes. */
function parseAnswers(raw: Buffer): Array<{ status: number; headers: string; body: any }> {
  const out = [];
  let at = 0;
  while (at < raw.length) {
    const headEnd = raw.indexOf('\r\n\r\n', at);
    if (headEnd < 0) break;
    const head = raw.subarray(at, headEnd).toString('latin1');
    const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
    if (!m) break;
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    const text = raw.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8');
    let body: any;
    try {
      body = JSON.parse(text);
      noteSecretsIn(body);
    } catch {
      body = text;
    }
    out.push({ status: Number(m[1]), headers: head, body });
    at = headEnd + 4 + length;
  }
  return out;
}

/**
 * An HTTP/1.1 request written all but its last byte. finish() sends that byte (and, when
 * `pipelined`, a second request after it on the same connection) and resolves with every answer
 * once the server closes the connection.
 */
async function halfSent(port: number, method: string, urlPath: string, json: unknown, pipelined: boolean) {
  const body = JSON.stringify(json);
  const request = (connection: string) => `${method} ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: ${connection}\r\n\r\n${body}`;
  const first = request(pipelined ? 'keep-alive' : 'close');
  const socket = net.connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  const answers = new Promise<ReturnType<typeof parseAnswers>>((resolve, reject) => {
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(parseAnswers(Buffer.concat(chunks))));
  });
  answers.catch(() => {}); // observed by finish()
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => socket.write(first.slice(0, -1), (err) => (err ? reject(err) : resolve())));
  });
  return {
    /** Completes the request; when `pipelined`, a second, identical one follows on the same connection. */
    finish(timeoutMs = 15_000) {
      socket.write(first.slice(-1) + (pipelined ? request('close') : ''));
      const t = setTimeout(() => socket.destroy(new Error('no answer in time')), timeoutMs);
      return answers.finally(() => clearTimeout(t));
    },
    destroy: () => socket.destroy(),
  };
}

const engineCases = [
  { name: 'sqlite', skip: false as string | false },
  { name: 'postgres', skip: TEST_PG_URL ? false : IN_CI ? false : 'TEST_DATABASE_URL is not set: the PostgreSQL half is skipped' },
];

for (const { name, skip } of engineCases) {
  describe(`SIGTERM drains in-flight requests [${name}]`, { skip, timeout: 120_000 }, () => {
    let dir: string;
    let server: Server | undefined;
    let drop: (() => Promise<void>) | undefined;
    let databaseUrl: string;

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-sigterm-'));
      if (name === 'sqlite') databaseUrl = `sqlite:${path.join(dir, 'latchkey.db')}`;
      else {
        if (!TEST_PG_URL) throw new Error('CI must run the PostgreSQL half: TEST_DATABASE_URL is not set');
        const db = await freshPgDatabase(TEST_PG_URL);
        databaseUrl = db.url;
        drop = db.drop;
      }
      server = await startServer({ DATABASE_URL: databaseUrl, LATCHKEY_BOOTSTRAP_ADMIN_USERNAME: ADMIN, LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD });
    });

    after(async () => {
      await server?.kill('SIGKILL');
      await drop?.();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('completes every in-flight request, refuses new connections, exits 0', async () => {
      const s = server!;
      // One account per sign-in: parallel attempts on one account are throttled by design.
      const admin = await s.login(ADMIN, ADMIN_PASSWORD);
      const creds = Array.from({ length: BATCH * 2 }, (_, i) => ({ username: `drain-${i}`, password: `drain-pw-${i}-3f9a` }));
      for (let i = 0; i < creds.length; i += 8) {
        await Promise.all(creds.slice(i, i + 8).map(async (c) => {
          const r = await s.call('POST', '/api/users/', { bearer: admin.access, json: c });
          assert.equal(r.status, 201, r.text);
        }));
      }
      const partial = [];
      for (let i = 0; i < BATCH; i++) partial.push(await halfSent(s.port, 'POST', '/api/token', creds[i], i % 2 === 0));
      try {
        // Full sign-ins (argon2id at the server's real parameters), all sent at once.
        const full = creds.slice(BATCH).map((c) => s.call('POST', '/api/token', { json: c, timeoutMs: 30_000 }).then(
          (r) => ({ status: r.status, body: r.body }), (err: Error) => ({ status: 0, body: err.message }),
        ));
        // A probe on a connection opened after all of the above: when it is answered, the server
        // has read the earlier requests' headers.
        assert.equal((await s.call('GET', '/healthz')).status, 200);
        process.kill(s.pid, 'SIGTERM');

        const refused = await until(async () => !(await canConnect(s.port, 500)), 10_000, 20);
        assert.ok(refused, 'new connections were still accepted 10 s after SIGTERM');
        assert.ok(s.running(), 'the server exited before its in-flight requests were answered');

        // Half of the half-sent requests carry a second request behind them on the same connection,
        // which reaches the server while it drains: it is served too (not refused with a 503).
        const connections = await Promise.all(partial.map((p) => p.finish()));
        for (const [i, c] of connections.entries()) {
          assert.equal(c.length, i % 2 === 0 ? 2 : 1, `connection ${i}: ${c.length} answer(s)`);
          if (c.length === 2) assert.match(c[1]!.headers, /\r\nconnection: close/i, 'the answer during the drain must close the connection');
        }
        const answers = [...(await Promise.all(full)), ...connections.flat()];
        assert.equal(answers.length, BATCH * 2 + BATCH / 2);
        for (const [i, a] of answers.entries()) {
          assert.equal(a.status, 200, `in-flight request ${i} got ${a.status}: ${JSON.stringify(a.body)}`);
          assert.equal(typeof a.body.access, 'string');
          assert.equal(typeof a.body.refresh, 'string');
        }
        let timer: NodeJS.Timeout | undefined;
        const exit = await Promise.race([s.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), 20_000)))]);
        clearTimeout(timer);
        assert.ok(exit, 'the server did not exit within 20 s of SIGTERM');
        assert.deepEqual(exit, { code: 0, signal: null }, s.output());
        assert.equal(await canConnect(s.port, 500), false);
      } finally {
        for (const p of partial) p.destroy();
      }
    });
  });
}
