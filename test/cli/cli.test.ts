// `latchkey` as a user runs it: real processes (`node src/cli/main.ts ...` and `bin/latchkey.js`)
// over a real database file (and, with TEST_DATABASE_URL, a fresh PostgreSQL database), their exit
// codes and messages; `serve` on a free port answering /healthz, creating the bootstrap superuser
// once and never overwriting it, and exiting 0 on SIGTERM.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, TEST_PG_URL, decodeJwt, freePort, freshPgDatabase, request, runToEnd, sleep, spawnTracked, type CommandResult, type Proc } from '../helpers/processes.ts';
import { noteSecret } from '../helpers/secret-log.ts';

const NODE = path.join(ROOT, 'node_modules/.bin/node');
const ENTRIES = { 'src/cli/main.ts': path.join(ROOT, 'src/cli/main.ts'), 'bin/latchkey.js': path.join(ROOT, 'bin/latchkey.js') };
type Entry = keyof typeof ENTRIES;
const PUBLIC_URL = 'http://latchkey.cli.test';
const COMMANDS = ['serve', 'migrate', 'createsuperuser', 'keys', 'tenants', 'clients', 'identity-providers', 'import', 'export'];

/** Only what the command is given: no DATABASE_URL or PORT of the test run leaks in. */
function envOf(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, PUBLIC_URL, LOG_LEVEL: 'info' };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

/** Runs `latchkey <args>` to its end, with `stdin` written to it (or nothing: stdin is closed). */
const cli = (args: string[], env: Record<string, string | undefined> = {}, opts: { stdin?: string; entry?: Entry } = {}): Promise<CommandResult> =>
  runToEnd(ENTRIES[opts.entry ?? 'src/cli/main.ts'], args, envOf(env), opts.stdin);

interface Serving extends Proc {
  base: string;
  /** POST /api/token; the status and, on 200, the tokens. */
  signIn(username: string, password: string): Promise<{ status: number; access?: string }>;
  /** SIGTERM, then the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `latchkey serve` on a free loopback port; resolves once /healthz answers 200. */
async function serve(env: Record<string, string | undefined>, entry: Entry = 'src/cli/main.ts'): Promise<Serving> {
  const port = await freePort();
  noteSecret(env.LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD);
  const proc = spawnTracked(NODE, [ENTRIES[entry], 'serve'], { env: envOf({ HOST: '127.0.0.1', PORT: String(port), ...env }), logName: 'server-cli-serve' });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!proc.running()) throw new Error(`latchkey serve exited before it was ready:\n${proc.output()}`);
    const r = await request(base, 'GET', '/healthz', { timeoutMs: 2000 }).catch(() => undefined);
    if (r?.status === 200) break;
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`latchkey serve not ready within 30 s:\n${proc.output()}`);
    }
    await sleep(100);
  }
  return {
    ...proc,
    base,
    async signIn(username, password) {
      noteSecret(password);
      const r = await request(base, 'POST', '/api/token', { json: { username, password } });
      return { status: r.status, access: r.body?.access };
    },
    async stop() {
      proc.child.kill('SIGTERM');
      const t = setTimeout(() => void proc.kill('SIGKILL'), 20_000);
      const result = await proc.exited;
      clearTimeout(t);
      return result;
    },
  };
}

// Each of these starts its own processes on its own files: they run side by side.
describe('latchkey CLI: help, usage errors, configuration errors', { concurrency: true }, () => {
  for (const entry of Object.keys(ENTRIES) as Entry[]) {
    it(`${entry} --help lists every command and exits 0`, async () => {
      const r = await cli(['--help'], {}, { entry });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Usage: latchkey <command>/);
      for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c}\\b`, 'm'), `--help does not list ${c}`);
    });
  }

  for (const c of COMMANDS) {
    it(`latchkey ${c} --help prints the command's usage and exits 0`, async () => {
      const r = await cli([c, '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^Usage: latchkey ${c}\\b`));
    });
  }

  it('latchkey keys rotate --help and -h exit 0 without touching a database', async () => {
    for (const args of [['keys', 'rotate', '--help'], ['migrate', '-h']]) {
      const r = await cli(args, { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /^Usage: latchkey /);
    }
  });

  it('an unknown command exits 2 naming it, with the usage; no command at all exits 2', async () => {
    const r = await cli(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command "frobnicate"/);
    assert.match(r.stderr, /Usage: latchkey <command>/);
    const none = await cli([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Usage: latchkey <command>/);
    assert.equal(none.stdout, '');
  });

  it('bin/latchkey.js run as an executable uses the project\'s Node; under a Node older than 22.18 it says what to do', async () => {
    const binDir = path.join(ROOT, 'node_modules/.bin');
    const ok = await new Promise<CommandResult>((resolve) => {
      const child = spawn(ENTRIES['bin/latchkey.js'], ['--help'], { cwd: ROOT, env: envOf({ PATH: `${binDir}:${process.env.PATH}` }) });
      let stdout = '', stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^Usage: latchkey /);
    // The machine's own Node, when it is an old one (Debian 12 ships 18, this machine has 20).
    const old = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => fs.existsSync(p));
    const version = old ? (await new Promise<string>((resolve) => {
      const c = spawn(old, ['-p', 'process.versions.node']);
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      c.on('close', () => resolve(out.trim()));
    })) : '';
    const [major, minor] = version.split('.').map(Number);
    if (!old || !(major! < 22 || (major === 22 && minor! < 18))) return; // no old Node here to try
    const r = await new Promise<CommandResult>((resolve) => {
      const child = spawn(old, [ENTRIES['bin/latchkey.js'], 'serve'], { cwd: ROOT, env: envOf({}) });
      let stdout = '', stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /latchkey needs Node\.js 22\.18 or later \(this is v\d+/);
    assert.match(r.stderr, /npm start/);
  });

  it('an unknown option or a wrong sub-command exits 2 with the command usage', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-cli-'));
    try {
      const env = { DATABASE_URL: `sqlite:${dir}/x.db` };
      for (const args of [['migrate', '--frobnicate'], ['keys', 'spin'], ['keys'], ['createsuperuser', '--password-stdin']]) {
        const r = await cli(args, env, { stdin: 'some-long-password-1\n' });
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, new RegExp(`^latchkey ${args[0]}: .+\\n\\nUsage: latchkey ${args[0]}`), `${args.join(' ')}: ${r.stderr}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  const badEnv: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'abc' }, /PORT must be a whole number from 0 to 65535, got "abc"/],
    [{ PORT: '70000' }, /PORT must be a whole number from 0 to 65535, got "70000"/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must be sqlite:<path>, sqlite::memory: or postgres:\/\//],
    [{ PUBLIC_URL: 'ftp://x' }, /PUBLIC_URL must start with http:\/\/ or https:\/\//],
    [{ LATCHKEY_BOOTSTRAP_ADMIN_USERNAME: 'admin' }, /LATCHKEY_BOOTSTRAP_ADMIN_USERNAME and LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD must be set together/],
  ];
  for (const [env, message] of badEnv) {
    it(`serve with ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')} exits 2 with a clear message and listens nowhere`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-cli-'));
      try {
        const r = await cli(['serve'], { DATABASE_URL: `sqlite:${dir}/x.db`, HOST: '127.0.0.1', ...env });
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assert.match(r.stderr, /^latchkey: configuration error: /);
        assert.match(r.stderr, message);
        // Refused before anything was opened: no database file was created.
        assert.deepEqual(fs.readdirSync(dir), []);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

interface Db {
  url: string;
  drop(): Promise<void>;
}

const databases: Array<{ name: string; skip: string | false; create(): Promise<Db> }> = [
  {
    name: 'sqlite',
    skip: false,
    async create() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-cli-'));
      return { url: `sqlite:${dir}/x.db`, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'postgres',
    skip: TEST_PG_URL ? false : 'TEST_DATABASE_URL is not set: PostgreSQL half skipped',
    create: () => freshPgDatabase(TEST_PG_URL!),
  },
];

for (const { name, skip, create } of databases) {
  describe(`latchkey CLI over a database [${name}]`, { skip }, () => {
    let db: Db;
    before(async () => {
      db = await create();
    });
    after(async () => {
      await db?.drop();
    });

    describe('migrate, createsuperuser, keys rotate', () => {
      const PASSWORD = 'cli-superuser-pass-1';
      const rotations: Array<{ current: string; next: string }> = [];

      it('migrate applies every migration, then finds the schema up to date (exit 0 both times)', async () => {
        const first = await cli(['migrate'], { DATABASE_URL: db.url });
        assert.equal(first.code, 0, first.stderr);
        assert.match(first.stdout, /^applied: 0001-initial(, [\w-]+)*\n$/);
        const again = await cli(['migrate'], { DATABASE_URL: db.url });
        assert.equal(again.code, 0, again.stderr);
        assert.equal(again.stdout, 'database schema is up to date\n');
      });

      it('createsuperuser --password-stdin creates the account (exit 0) without echoing the password', async () => {
        noteSecret(PASSWORD);
        const r = await cli(['createsuperuser', '--username', 'u', '--email', 'u@example.com', '--password-stdin'], { DATABASE_URL: db.url }, { stdin: `${PASSWORD}\n` });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^superuser "u" created in tenant "default" \(id [0-9a-f-]{36}\)\n$/);
        assert.ok(!(r.stdout + r.stderr).includes(PASSWORD));
      });

      it('createsuperuser of an existing username exits 1 saying so', async () => {
        const r = await cli(['createsuperuser', '--username', 'u', '--email', 'other@example.com', '--password-stdin'], { DATABASE_URL: db.url }, { stdin: 'another-pass-phrase-2\n' });
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /^username: A user with that username already exists\.$/m);
        assert.equal(r.stdout, '');
      });

      it('createsuperuser without a password exits 2 (neither --password-stdin nor the variable; or an empty stdin)', async () => {
        const none = await cli(['createsuperuser', '--username', 'nopass'], { DATABASE_URL: db.url }, { stdin: 'ignored-without-the-flag\n' });
        assert.equal(none.code, 2, none.stdout + none.stderr);
        assert.match(none.stderr, /give the password with --password-stdin or LATCHKEY_SUPERUSER_PASSWORD/);
        const empty = await cli(['createsuperuser', '--username', 'nopass', '--password-stdin'], { DATABASE_URL: db.url }, { stdin: '' });
        assert.equal(empty.code, 2, empty.stdout + empty.stderr);
        const noName = await cli(['createsuperuser', '--password-stdin'], { DATABASE_URL: db.url }, { stdin: `${PASSWORD}\n` });
        assert.equal(noName.code, 2);
        assert.match(noName.stderr, /--username is required/);
      });

      it('createsuperuser with a password the policy refuses exits 1 with the field message', async () => {
        const r = await cli(['createsuperuser', '--username', 'shorty', '--email', 's@example.com', '--password-stdin'], { DATABASE_URL: db.url }, { stdin: 'short\n' });
        assert.equal(r.code, 1);
        assert.match(r.stderr, /^password: This password is too short\. It must contain at least 8 characters\.$/m);
      });

      it('createsuperuser takes LATCHKEY_SUPERUSER_PASSWORD from the environment', async () => {
        noteSecret('env-superuser-pass-3');
        const r = await cli(['createsuperuser', '--username', 'envy', '--email', 'envy@example.com'], { DATABASE_URL: db.url, LATCHKEY_SUPERUSER_PASSWORD: 'env-superuser-pass-3' });
        assert.equal(r.code, 0, r.stderr);
      });

      it('keys rotate exits 0 and promotes the published next key (twice)', async () => {
        for (let i = 0; i < 2; i++) {
          const r = await cli(['keys', 'rotate'], { DATABASE_URL: db.url });
          assert.equal(r.code, 0, r.stderr);
          const m = /^ES256 signing key rotated: current ([0-9a-f-]{36}), next ([0-9a-f-]{36})\n$/.exec(r.stdout);
          assert.ok(m, r.stdout);
          rotations.push({ current: m[1]!, next: m[2]! });
        }
        // The second rotation made the first one's "next" key current.
        assert.equal(rotations[1]!.current, rotations[0]!.next);
        assert.notEqual(rotations[1]!.next, rotations[0]!.next);
      });

      it('a server over the same database publishes the new current key first and signs with it; the superusers sign in; a bootstrap admin is not added beside them', async () => {
        assert.equal(rotations.length, 2, 'runs after the rotation test');
        const s = await serve({ DATABASE_URL: db.url, LATCHKEY_BOOTSTRAP_ADMIN_USERNAME: 'late-admin', LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD: 'late-admin-pass-4' });
        try {
          const jwks = (await request(s.base, 'GET', '/.well-known/jwks.json')).body;
          const kids = jwks.keys.map((k: { kid: string }) => k.kid);
          assert.deepEqual(kids.slice(0, 2), [rotations[1]!.current, rotations[1]!.next]);
          // The key of the first rotation is retired but still published (its tokens may live on).
          assert.ok(kids.includes(rotations[0]!.current));

          const u = await s.signIn('u', PASSWORD);
          assert.equal(u.status, 200);
          assert.equal(decodeJwt(u.access!).header.kid, rotations[1]!.current);
          // A superuser: it may list the tenants (superusers only).
          const tenants = await request(s.base, 'GET', '/api/tenants/', { bearer: u.access });
          assert.equal(tenants.status, 200, tenants.text);
          assert.equal((await s.signIn('envy', 'env-superuser-pass-3')).status, 200);
          // The default tenant has a superuser already: the bootstrap one is not created.
          assert.equal((await s.signIn('late-admin', 'late-admin-pass-4')).status, 401);
        } finally {
          assert.deepEqual(await s.stop(), { code: 0, signal: null });
        }
      });
    });
  });

  describe(`latchkey serve on a fresh database [${name}]`, { skip }, () => {
    let db: Db;
    before(async () => {
      db = await create();
    });
    after(async () => {
      await db?.drop();
    });
    const ADMIN = 'root-admin';
    const FIRST = 'bootstrap-pass-one-1';

    it('creates its schema, answers /healthz with 200 {"status":"ok"}, creates the bootstrap admin, and exits 0 on SIGTERM', async () => {
      const s = await serve({ DATABASE_URL: db.url, LATCHKEY_BOOTSTRAP_ADMIN_USERNAME: ADMIN, LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD: FIRST, LATCHKEY_BOOTSTRAP_ADMIN_EMAIL: 'root@example.com' });
      let stopped = false;
      try {
        const health = await request(s.base, 'GET', '/healthz');
        assert.equal(health.status, 200);
        assert.equal(health.headers['content-type']?.split(';')[0], 'application/json');
        assert.deepEqual(health.body, { status: 'ok' });

        const admin = await s.signIn(ADMIN, FIRST);
        assert.equal(admin.status, 200);
        const claims = decodeJwt(admin.access!).payload;
        assert.equal(claims.iss, PUBLIC_URL);
        assert.equal(claims.token_type, 'access');
        const me = await request(s.base, 'GET', `/api/users/${claims.sub}/`, { bearer: admin.access });
        assert.equal(me.status, 200);
        assert.deepEqual({ username: me.body.username, email: me.body.email, tenant_id: me.body.tenant_id }, { username: ADMIN, email: 'root@example.com', tenant_id: 'default' });
        assert.equal((await request(s.base, 'GET', '/api/tenants/', { bearer: admin.access })).status, 200, 'the bootstrap admin is a superuser');

        const exit = await s.stop();
        stopped = true;
        assert.deepEqual(exit, { code: 0, signal: null }, s.output());
        await assert.rejects(request(s.base, 'GET', '/healthz', { timeoutMs: 2000 }), 'nothing listens after the exit');
      } finally {
        if (!stopped) await s.kill();
      }
    });

    it('a second start (through bin/latchkey.js) keeps the account: a changed bootstrap password does not replace the one it has', async () => {
      const SECOND = 'bootstrap-pass-two-2';
      const s = await serve({ DATABASE_URL: db.url, LATCHKEY_BOOTSTRAP_ADMIN_USERNAME: ADMIN, LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD: SECOND }, 'bin/latchkey.js');
      try {
        assert.deepEqual((await request(s.base, 'GET', '/healthz')).body, { status: 'ok' });
        assert.equal((await s.signIn(ADMIN, SECOND)).status, 401, 'the environment password replaced the account\'s');
        assert.equal((await s.signIn(ADMIN, FIRST)).status, 200);
      } finally {
        assert.deepEqual(await s.stop(), { code: 0, signal: null });
      }
    });
  });
}
