// Threat: a secret read from a log. Server logs are kept, shipped and read by more people than
// the accounts they describe; a reset link's token, a verification key, a password or a token
// written there is a way into the account. The links in e-mails carry their secret in the query
// string, so a real `latchkey serve` process at LOG_LEVEL=trace (every line Fastify and Latchkey
// write) is sent real e-mails through a real SMTP server, and their links are opened as a
// browser would; the log must show the requests (route and path) and hold none of the secrets.
// Also: X-Forwarded-For while TRUST_PROXY is off draws one warning per process (every client
// behind a proxy then shares the proxy's address for the per-address limits), and none when the
// proxy is trusted.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { IN_CI, TEST_PG_URL, freePort, freshPgDatabase, startServer, type Server } from '../helpers/processes.ts';
import { linkParam, startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { noteSecret } from '../helpers/secret-log.ts';

const PW = 'log-scan-passphrase-81';
const NEW_PW = 'log-scan-new-passphrase-92';
const WARNING = 'requests arrive with X-Forwarded-For but TRUST_PROXY is off';

const halves = [
  { name: 'sqlite', skip: false as const },
  { name: 'postgres', skip: TEST_PG_URL ? false as const : IN_CI ? false as const : 'TEST_DATABASE_URL is not set: the PostgreSQL half is skipped' },
];

/** The path and query of a link in a message, to open on the test server. */
const linkPath = (text: string, prefix: string) => {
  const m = text.match(new RegExp(`https?://[^\\s/]+(${prefix}[^\\s"<]*)`));
  if (!m) throw new Error(`no ${prefix} link in the message`);
  return m[1]!;
};

for (const { name, skip } of halves) {
  describe(`no secret in a log line [${name}]`, { skip, timeout: 120_000 }, () => {
    let smtp: SmtpSink;
    let server: Server;
    let dir: string;
    let dropDb = async () => {};

    const start = async (extra: Record<string, string> = {}) => {
      let databaseUrl: string;
      if (name === 'sqlite') databaseUrl = `sqlite:${path.join(dir, `latchkey-${Date.now()}.db`)}`;
      else {
        if (!TEST_PG_URL) throw new Error('CI must run the PostgreSQL half: TEST_DATABASE_URL is not set');
        const db = await freshPgDatabase(TEST_PG_URL);
        const previous = dropDb;
        dropDb = async () => {
          await previous();
          await db.drop();
        };
        databaseUrl = db.url;
      }
      const port = await freePort();
      return startServer({ DATABASE_URL: databaseUrl, SMTP_URL: smtp.url, LOG_LEVEL: 'trace', PUBLIC_URL: `http://127.0.0.1:${port}`, ...extra }, { port });
    };

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-logscan-'));
      smtp = await startSmtpSink();
      server = await start();
    });
    after(async () => {
      await server?.kill('SIGTERM');
      await smtp?.close();
      await dropDb();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('opening the verification and reset links of real e-mails at LOG_LEVEL=trace logs their routes and paths, never their key or token', async () => {
      noteSecret(PW);
      noteSecret(NEW_PW);
      const reg = await server.call('POST', '/api/auth/registration/', { json: { username: 'logged', email: 'logged@example.com', password1: PW, password2: PW } });
      assert.equal(reg.status, 201, reg.text);
      const verification = await smtp.next('logged@example.com');
      const key = linkParam(verification, 'key');
      noteSecret(key);
      const verifyPath = linkPath(verification.text, '/account/verify-email/');
      const verified = await server.call('GET', verifyPath, { headers: { accept: 'text/html' } });
      assert.equal(verified.status, 200, verified.text);
      assert.match(verified.text, /Your e-mail address is verified/);
      const again = await server.call('GET', verifyPath);
      assert.equal(again.status, 400, 'a used key');

      const asked = await server.call('POST', '/api/auth/password/reset/', { json: { email: 'logged@example.com' } });
      assert.equal(asked.status, 200, asked.text);
      const reset = await smtp.next('logged@example.com', 1);
      const token = linkParam(reset, 'token');
      const uid = linkParam(reset, 'uid');
      noteSecret(token);
      // The reset page moves the token into a cookie and redirects to itself without it.
      const resetPage = await server.call('GET', linkPath(reset.text, '/account/reset-password/'));
      assert.equal(resetPage.status, 303, resetPage.text);
      const done = await server.call('POST', '/api/auth/password/reset/confirm/', { json: { uid, token, new_password1: NEW_PW, new_password2: NEW_PW } });
      assert.equal(done.status, 200, done.text);
      const pair = await server.login('logged', NEW_PW);
      noteSecret(pair.access);
      noteSecret(pair.refresh);
      // A wrong password and a bad key in a query string of an API path too.
      await server.call('POST', '/api/token', { json: { username: 'logged', password: PW } });
      await server.call('GET', `/api/auth/user/?key=${encodeURIComponent(key)}&token=${encodeURIComponent(token)}`);
      // A request Node cannot parse (a space in a header name) is logged at trace with its raw bytes.
      const refused = await new Promise<string>((resolve, reject) => {
        const socket = net.connect({ host: '127.0.0.1', port: server.port }, () => {
          socket.write(`GET /account/reset-password/?uid=${uid}&token=${token} HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n`);
        });
        let got = '';
        socket.on('data', (d) => (got += d));
        socket.on('close', () => resolve(got));
        socket.on('error', reject);
      });
      assert.match(refused, /^HTTP\/1\.1 400/);

      await server.kill('SIGTERM');
      const log = server.output();
      // The log really records these requests (at trace, every line there is), so the check below can fail.
      const lines = log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      const requests = lines.filter((l) => l.msg === 'incoming request').map((l) => l.req);
      assert.equal(requests.filter((r) => String(r.url).startsWith('/account/')).length, 3, 'the three link requests are logged');
      for (const [what, secret] of [['verification key', key], ['reset token', token], ['encoded reset token', encodeURIComponent(token)], ['password', PW], ['new password', NEW_PW], ['access token', pair.access], ['refresh token', pair.refresh]] as const) {
        assert.ok(!log.includes(secret), `the ${what} is in the log`);
      }
      assert.doesNotMatch(log, /[?&](key|token|uid)=/);
      const clientError = lines.find((l) => l.msg === 'client error');
      assert.ok(clientError, 'the unparsable request is logged');
      assert.equal(clientError.err.rawPacket, '[redacted]', 'without its bytes');
      assert.deepEqual(requests.filter((r) => r.route === '/account/verify-email/').map((r) => r.url), ['/account/verify-email/', '/account/verify-email/']);
      assert.deepEqual(requests.filter((r) => r.route === '/account/reset-password/').map((r) => r.url), ['/account/reset-password/']);
      assert.ok(requests.some((r) => r.url === '/api/auth/user/'), 'the API path without its query');
    });

    it('X-Forwarded-For while TRUST_PROXY is off draws one warning per process; with TRUST_PROXY=1, none', async () => {
      const off = await start();
      try {
        assert.equal((await off.call('GET', '/healthz', { headers: { 'x-forwarded-for': '203.0.113.7' } })).status, 200);
        await off.call('POST', '/api/token', { json: { username: 'nobody', password: 'wrong-password-1' }, headers: { 'x-forwarded-for': '203.0.113.8' } });
        await off.call('GET', '/healthz', { headers: { 'x-forwarded-for': '203.0.113.9, 10.0.0.1' } });
      } finally {
        await off.kill('SIGTERM');
      }
      const warnings = off.output().split('\n').filter((l) => l.includes(WARNING));
      assert.equal(warnings.length, 1, off.output());
      assert.equal(JSON.parse(warnings[0]!).level, 40, 'a warning');
      assert.doesNotMatch(warnings[0]!, /203\.0\.113/, 'the address itself is not repeated');

      const on = await start({ TRUST_PROXY: '1' });
      try {
        assert.equal((await on.call('GET', '/healthz', { headers: { 'x-forwarded-for': '203.0.113.7' } })).status, 200);
      } finally {
        await on.kill('SIGTERM');
      }
      assert.ok(!on.output().includes(WARNING), on.output());
      // Without the header nothing is said either.
      const quiet = await start();
      try {
        await quiet.call('GET', '/healthz');
      } finally {
        await quiet.kill('SIGTERM');
      }
      assert.ok(!quiet.output().includes(WARNING));
    });
  });
}
