// `latchkey identity-providers` as an operator runs it: real processes over a real SQLite file and
// a fresh PostgreSQL database. The client secret goes in on standard input only, is never printed
// back, and lies sealed in the database; an OpenID Connect provider is checked by discovery at a
// local stand-in issuer; bad usage exits 2 with the usage, a refusal or an unknown id exits 1 saying what.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, TEST_PG_URL, freshPgDatabase, runToEnd } from '../helpers/processes.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { startStandIn, type StandIn } from '../identity-providers/support.ts';
import { openStore } from '../../src/store/index.ts';
import { SecretBox } from '../../src/core/index.ts';

const MAIN = path.join(ROOT, 'src/cli/main.ts');
// Plain http on loopback: the stand-in issuer's http://127.0.0.1 is then accepted (as on a development machine).
const PUBLIC_URL = 'http://127.0.0.1:8000';
const KEY = 'cli-identity-providers-sealing-key-0123456789';
const SECRET = 'upstream-client-secret-cli-0123456789';

/** `latchkey <args>` to its end with only the environment given, `stdin` written to it (else closed). */
const cli = (args: string[], env: Record<string, string>, stdin = '') =>
  runToEnd(MAIN, args, { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, PUBLIC_URL, LATCHKEY_SECRET_KEYS: KEY, ...env }, stdin);

const databases = [
  {
    name: 'sqlite', skip: false as const,
    async create() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-cli-idp-'));
      return { url: `sqlite:${dir}/x.db`, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
    },
  },
  { name: 'postgres', skip: TEST_PG_URL ? (false as const) : 'TEST_DATABASE_URL is not set: PostgreSQL half skipped', create: () => freshPgDatabase(TEST_PG_URL!) },
];

describe('latchkey identity-providers: help', () => {
  it('--help prints the usage and exits 0; the command list names the command', async () => {
    const r = await cli(['identity-providers', '--help'], {});
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Usage: latchkey identity-providers <action>/);
    assert.match(r.stdout, /--client-secret-stdin/);
    const all = await cli(['--help'], {});
    assert.match(all.stdout, /^ {2}identity-providers\b/m);
  });
});

for (const { name, skip, create } of databases) {
  describe(`latchkey identity-providers [${name}]`, { skip }, () => {
    let db: { url: string; drop(): Promise<void> };
    let upstream: StandIn;
    let env: Record<string, string>;
    const ip = (args: string[], stdin?: string) => cli(['identity-providers', ...args], env, stdin);
    /** The row as stored, read past the core. */
    const row = async (slug: string) => {
      const store = openStore(db.url);
      try {
        return await store.db.selectFrom('identity_providers' as any).selectAll().where('slug', '=', slug).executeTakeFirst() as Record<string, any> | undefined;
      } finally {
        await store.close();
      }
    };

    before(async () => {
      db = await create();
      env = { DATABASE_URL: db.url };
      upstream = await startStandIn({ clientId: 'latchkey-cli', clientSecret: SECRET });
      noteSecret(SECRET);
      const m = await cli(['migrate'], env);
      assert.equal(m.code, 0, m.stderr);
    });
    after(async () => {
      await upstream?.close();
      await db?.drop();
    });

    it('create reads the secret from standard input, says the callback URL, and never prints the secret', async () => {
      const r = await ip(['create', 'corp', '--kind', 'oidc', '--name', 'Corp SSO', '--issuer', upstream.base, '--client-id', 'latchkey-cli',
        '--client-secret-stdin', '--jit', '--allowed-domain', 'Corp.Example', '--scope', 'openid', '--scope', 'email'], `${SECRET}\n`);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.stdout, `created: corp\toidc\tenabled\tCorp SSO\ncallback_url: ${PUBLIC_URL}/api/auth/social/corp/callback/ (register it at the provider as the redirect URI)\n`);
      assert.ok(!(r.stdout + r.stderr).includes(SECRET));
    });

    it('the secret lies sealed in the database, bound to the provider, and opens to what was given', async () => {
      const stored = (await row('corp'))!;
      assert.ok(stored, 'no row');
      const sealed: string = stored.client_secret;
      assert.ok(!sealed.includes(SECRET) && !sealed.includes(Buffer.from(SECRET).toString('base64')), 'the secret is stored in plain text');
      assert.equal(new SecretBox([KEY]).open(sealed, `idp:${stored.tenant_pk}:corp`), SECRET);
    });

    it('a preset that needs no discovery (github) is created without a secret; list shows both, one a line', async () => {
      const r = await ip(['create', 'gh', '--kind', 'github', '--client-id', 'gh-client']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await row('gh'))!.client_secret, null);
      const list = await ip(['list']);
      assert.equal(list.code, 0, list.stderr);
      assert.deepEqual(list.stdout.trim().split('\n').sort(), ['corp\toidc\tenabled\tCorp SSO', 'gh\tgithub\tenabled\tGitHub']);
    });

    it('show prints the settings and whether a secret is set, never the secret', async () => {
      const r = await ip(['show', 'corp']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!(r.stdout + r.stderr).includes(SECRET));
      for (const l of [`issuer: ${upstream.base}`, 'client_id: latchkey-cli', 'client_secret: set (never shown)', 'scopes: openid email', 'jit: true', 'allowed_domains: corp.example', 'enabled: true']) {
        assert.ok(r.stdout.split('\n').includes(l), `${l} not in:\n${r.stdout}`);
      }
    });

    it('update --disable disables it (the rest unchanged); --enable again; a new secret from standard input replaces the old', async () => {
      const off = await ip(['update', 'corp', '--disable']);
      assert.equal(off.code, 0, off.stderr);
      assert.equal(off.stdout, 'updated: corp\toidc\tdisabled\tCorp SSO\n');
      const stored = (await row('corp'))!;
      assert.equal(new SecretBox([KEY]).open(stored.client_secret, `idp:${stored.tenant_pk}:corp`), SECRET, 'the secret survived an update that did not name it');
      assert.match((await ip(['list'])).stdout, /^corp\toidc\tdisabled\tCorp SSO$/m);

      const NEW = 'rotated-upstream-secret-cli-9876543210';
      noteSecret(NEW);
      const on = await ip(['update', 'corp', '--enable', '--name', 'Corp', '--client-secret-stdin'], `${NEW}\n`);
      assert.equal(on.code, 0, on.stderr);
      assert.equal(on.stdout, 'updated: corp\toidc\tenabled\tCorp\n');
      assert.ok(!(on.stdout + on.stderr).includes(NEW));
      const again = (await row('corp'))!;
      assert.equal(new SecretBox([KEY]).open(again.client_secret, `idp:${again.tenant_pk}:corp`), NEW);
      const pub = await ip(['update', 'corp', '--no-client-secret']);
      assert.equal(pub.code, 0, pub.stderr);
      assert.equal((await row('corp'))!.client_secret, null);
    });

    it('an issuer that cannot be reached exits 1 naming the issuer field, and nothing is saved', async () => {
      const r = await ip(['create', 'down', '--kind', 'oidc', '--issuer', 'http://127.0.0.1:1', '--client-id', 'x']);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /^issuer: The OpenID Connect discovery document at http:\/\/127\.0\.0\.1:1\/\.well-known\/openid-configuration could not be used/m);
      assert.equal(r.stdout, '');
      assert.equal(await row('down'), undefined);
      const taken = await ip(['create', 'gh', '--kind', 'github', '--client-id', 'other']);
      assert.equal(taken.code, 1);
      assert.match(taken.stderr, /^id: An identity provider with this id already exists\.$/m);
    });

    it('an unknown id (update, show, delete) or tenant exits 1 naming it', async () => {
      for (const args of [['update', 'nope', '--disable'], ['show', 'nope'], ['delete', 'nope']]) {
        const r = await ip(args);
        assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.equal(r.stderr, 'no identity provider "nope" in tenant "default"\n', args.join(' '));
      }
      const t = await ip(['list', '--tenant', 'nowhere']);
      assert.equal(t.code, 1);
      assert.equal(t.stderr, 'no tenant "nowhere"\n');
    });

    it('bad usage exits 2 with the command usage, before anything is written; a secret on the command line is refused', async () => {
      const cases: Array<[string[], RegExp, string?]> = [
        [[], /unknown action ""/],
        [['frobnicate'], /unknown action "frobnicate"/],
        [['create', 'x', '--client-id', 'c'], /--kind is required/],
        [['create', 'x', '--kind', 'github'], /--client-id is required/],
        [['create', '--kind', 'github', '--client-id', 'c'], /expected: identity-providers create ID/],
        [['update', 'gh'], /nothing to change/],
        [['update', 'gh', '--enable', '--disable'], /--enable and --disable contradict each other/],
        [['list', '--kind', 'github'], /"list" takes only --tenant/],
        [['delete', 'gh', 'extra'], /expected: identity-providers delete ID/],
        [['update', 'gh', '--frobnicate'], /Unknown option '--frobnicate'/],
        [['create', 'x', '--kind', 'github', '--client-id', 'c', '--client-secret-stdin'], /standard input held no secret/, ''],
        [['create', 'x', '--kind', 'github', '--client-id', 'c', `--client-secret=${SECRET}`], /read from standard input: --client-secret-stdin/],
        [['create', 'x', '--kind', 'github', '--client-id', 'c', '--client-secret', SECRET], /read from standard input: --client-secret-stdin/],
      ];
      for (const [args, message, stdin] of cases) {
        const r = await ip(args, stdin);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /^latchkey identity-providers: .+\n\nUsage: latchkey identity-providers /, args.join(' '));
        assert.match(r.stderr, message, args.join(' '));
        assert.ok(!(r.stdout + r.stderr).includes(SECRET), `${args.join(' ')} printed the secret`);
      }
      assert.equal(await row('x'), undefined);
      assert.equal((await row('gh'))!.enabled ? 'enabled' : 'disabled', 'enabled');
    });

    it('--tenant works on another tenant\'s providers only', async () => {
      assert.equal((await cli(['tenants', 'create', 'acme'], env)).code, 0);
      const r = await ip(['create', 'gh', '--tenant', 'acme', '--kind', 'github', '--client-id', 'acme-gh', '--name', 'Acme GitHub']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await ip(['list', '--tenant', 'acme'])).stdout, 'gh\tgithub\tenabled\tAcme GitHub\n');
      assert.match((await ip(['show', 'gh'])).stdout, /^client_id: gh-client$/m, 'the default tenant\'s gh is untouched');
    });

    it('delete removes it: gone from the list, and a second delete exits 1', async () => {
      const r = await ip(['delete', 'corp']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'deleted: corp\n');
      assert.equal((await ip(['list'])).stdout, 'gh\tgithub\tenabled\tGitHub\n');
      assert.equal(await row('corp'), undefined);
      assert.equal((await ip(['delete', 'corp'])).code, 1);
    });
  });
}
