// Threat: a password stolen (phished, reused, leaked) signs in without the second factor through
// an API that knows only passwords. Once a user has TOTP, every password-only front-end (v1
// tokens, the OAuth2 password grant, REST-auth's login, HTTP Basic on every API) refuses the
// right password with `mfa_required` in its own shape, says where to sign in instead, and
// writes no sign-in: no refresh family, no session, no token key, no last_login. A wrong password
// is the usual refusal, so a guesser does not learn that the account has a second factor. The same
// holds for a user of a tenant that requires a second factor and has none yet (`mfa_enroll`).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { python, pythonSkip } from '../interop/support.ts';

const PW = 'a-long-passphrase-6';
const basic = (u: string, p: string) => ({ authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64') });
const form = (o: Record<string, string>) => new URLSearchParams(o).toString();
const WHERE = /hosted sign-in page|headless API|hosted pages/;

interface Front {
  name: string;
  attempt(t: TestApp, username: string, password: string, tenant?: string): ReturnType<TestApp['request']>;
  /** The refusal's status and how its body says mfa_required. */
  status: number;
  says(body: any): string | undefined;
  ok: number;
}

const th = (tenant?: string) => (tenant ? { 'x-tenant': tenant } : {});
const FRONTS: Front[] = [
  { name: 'v1 POST /api/token', attempt: (t, u, p, tn) => t.request({ method: 'POST', url: '/api/token', headers: th(tn), payload: { username: u, password: p } }), status: 403, says: (b) => b.code === 'mfa_required' ? b.detail : undefined, ok: 200 },
  {
    name: 'OAuth2 POST /token',
    attempt: (t, u, p, tn) => t.request({ method: 'POST', url: '/token', headers: { ...th(tn), 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ grant_type: 'password', username: u, password: p }) }),
    status: 403, says: (b) => b.error === 'mfa_required' ? b.error_description : undefined, ok: 200,
  },
  { name: 'REST-auth POST /api/auth/login/', attempt: (t, u, p, tn) => t.request({ method: 'POST', url: '/api/auth/login/', headers: th(tn), payload: { username: u, password: p } }), status: 400, says: (b) => b.code === 'mfa_required' ? b.non_field_errors?.[0] : undefined, ok: 200 },
  { name: 'HTTP Basic on REST-auth /api/auth/user/', attempt: (t, u, p, tn) => t.request({ method: 'GET', url: '/api/auth/user/', headers: { ...th(tn), ...basic(u, p) } }), status: 403, says: (b) => b.code === 'mfa_required' ? b.detail : undefined, ok: 200 },
  { name: 'HTTP Basic on v2 /api/v2/users/me', attempt: (t, u, p, tn) => t.request({ method: 'GET', url: '/api/v2/users/me', headers: { ...th(tn), ...basic(u, p) } }), status: 403, says: (b) => b.code === 'mfa_required' ? b.detail : undefined, ok: 200 },
  { name: 'HTTP Basic on AuthN /user_info/', attempt: (t, u, p, tn) => t.request({ method: 'GET', url: '/user_info/', headers: { ...th(tn), ...basic(u, p) } }), status: 403, says: (b) => b.errors?.some((e: any) => e.field === 'credentials' && e.message === 'MFA_REQUIRED') ? b.message : undefined, ok: 200 },
];

const pyotpSkip = pythonSkip(['pyotp']);
const codeAt = async (uri: string, ms: number): Promise<string> =>
  python('import os, json, pyotp\nprint(json.dumps(pyotp.parse_uri(os.environ["URI"]).at(int(os.environ["AT"]))))', { URI: uri, AT: String(Math.floor(ms / 1000)) });

for (const { engine, skip } of engines) {
  describe(`a stolen password alone gets nothing once a second factor is enrolled [${engine.name}]`, { skip: skip || pyotpSkip }, () => {
    let t: TestApp;
    let n = 0;
    before(async () => {
      noteSecret(PW);
      t = await startApp(engine);
      await t.core.tenants.create('strict', 'Strict Ltd');
      const strict = await t.core.tenants.resolve('strict');
      await t.store.transaction((r) => r.settings.put(strict.pk, 'mfa_required', 'true', Date.now()));
      t.core.settings.invalidate(strict.pk);
    });
    after(async () => { await t?.close(); });

    const nothingWritten = async (userPk: number) => {
      const families = await t.store.db.selectFrom('token_families').select('id').where('user_pk', '=', userPk).execute();
      const sessions = await t.store.db.selectFrom('sessions').select('id').where('user_pk', '=', userPk).execute();
      const keys = await t.store.db.selectFrom('token_keys').select('id').where('user_pk', '=', userPk).execute();
      assert.equal(families.length + sessions.length + keys.length, 0, 'no sign-in was written');
      assert.equal((await t.store.read.users.findByPk(userPk))!.lastLogin, null);
    };

    for (const front of FRONTS) {
      it(`${front.name}: the right password of a TOTP user is refused with mfa_required; a wrong one as usual; without the factor it signs in`, async () => {
        const name = `mfa${++n}`;
        const user = await t.createUser({ username: name, password: PW, email: `${name}@example.com` });
        const tenant = await t.core.tenants.resolve(undefined);
        const setup = await t.core.secondFactors.totpSetup(tenant, user);
        await t.core.secondFactors.totpActivate(tenant, user, await codeAt(setup.uri, Date.now()));

        const r = await front.attempt(t, name, PW);
        assert.equal(r.statusCode, front.status, r.body);
        const message = front.says(r.json());
        assert.ok(message, `mfa_required in the API's shape: ${r.body}`);
        assert.match(message!, WHERE, 'it says where to sign in instead');
        await nothingWritten(user.pk);

        const wrong = await front.attempt(t, name, 'not-the-password-at-all');
        assert.notEqual(wrong.statusCode, front.ok);
        assert.equal(front.says(wrong.json()), undefined, 'a wrong password does not learn that the account has a second factor');

        await t.core.secondFactors.totpDeactivate(tenant, user);
        assert.equal((await front.attempt(t, name, PW)).statusCode, front.ok, 'without a second factor the password signs in again');
      });

      it(`${front.name}: in a tenant that requires a second factor, a user without one is refused with mfa_required`, async () => {
        const name = `enrol${++n}`;
        const user = await t.createUser({ username: name, password: PW, tenant: 'strict' });
        const r = await front.attempt(t, name, PW, 'strict');
        assert.equal(r.statusCode, front.status, r.body);
        assert.ok(front.says(r.json()), r.body);
        await nothingWritten(user.pk);
      });
    }
  });
}
