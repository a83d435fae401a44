// The recovery codes a first passkey brings, through the headless API: POST
// account/authenticators/webauthn answers meta.recovery_codes_generated, and the next GET
// account/authenticators/recovery-codes of that session lists them, as after TOTP activation
// (allauth's front-ends show them from there). Bug: they were made but never shown, so the user
// had codes they could not know. Both engines; passkeys by the software authenticator.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startApp, PUBLIC_URL, type TestApp } from '../helpers/app.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { AppClient, BrowserClient, PW, SchemaCheck, pendingFlow } from './support.ts';
import { SoftAuthenticator } from './soft-authenticator.ts';

for (const { engine, skip } of engines) {
  describe(`allauth headless API: recovery codes of a first passkey [${engine.name}]`, { skip }, () => {
    let t: TestApp;
    let schemas: SchemaCheck;

    before(async () => {
      noteSecret(PW);
      t = await startApp(engine);
      schemas = await SchemaCheck.of(t);
      await t.createUser({ username: 'bea', password: PW, email: 'bea@example.com' });
      await t.createUser({ username: 'cal', password: PW, email: 'cal@example.com' });
    });
    after(async () => {
      await t?.close();
    });

    for (const kind of ['app', 'browser'] as const) {
      it(`${kind} client: the codes made with a first passkey are listed by the next GET recovery-codes, and sign in as a second factor`, async () => {
        const user = kind === 'app' ? 'bea' : 'cal';
        const c = kind === 'app' ? new AppClient(t, schemas) : new BrowserClient(t, schemas);
        if (c instanceof BrowserClient) await c.call({ method: 'GET', path: 'config' });
        assert.equal((await c.call({ method: 'POST', path: 'auth/login', body: { username: user, password: PW } })).statusCode, 200);
        const opts = await c.call({ method: 'GET', path: 'account/authenticators/webauthn?passwordless' });
        assert.equal(opts.statusCode, 200);
        const key = new SoftAuthenticator(PUBLIC_URL);
        const added = await c.call({ method: 'POST', path: 'account/authenticators/webauthn', body: { name: 'Key', credential: key.create(opts.data.data.creation_options.publicKey) } });
        assert.equal(added.statusCode, 200, added.body);
        assert.equal(added.data.meta.recovery_codes_generated, true);
        const rc = await c.call({ method: 'GET', path: 'account/authenticators/recovery-codes' });
        assert.equal(rc.statusCode, 200);
        assert.equal(rc.data.data.total_code_count, 10);
        const codes: string[] = rc.data.data.unused_codes;
        assert.equal(codes.length, 10, 'listed right after they were made');
        // They are the codes: one signs in as the second factor.
        const other = kind === 'app' ? new AppClient(t, schemas) : new BrowserClient(t, schemas);
        if (other instanceof BrowserClient) await other.call({ method: 'GET', path: 'config' });
        const first = await other.call({ method: 'POST', path: 'auth/login', body: { username: user, password: PW } });
        assert.equal(pendingFlow(first.data), 'mfa_authenticate');
        const done = await other.call({ method: 'POST', path: 'auth/2fa/authenticate', body: { code: codes[0] } });
        assert.equal(done.statusCode, 200, done.body);
        // Removing the only passkey takes the codes with it: none are listed any more.
        const list = await c.call({ method: 'GET', path: 'account/authenticators' });
        const id = list.data.data.find((a: any) => a.type === 'webauthn').id;
        assert.equal((await c.call({ method: 'DELETE', path: 'account/authenticators/webauthn', body: { authenticators: [id] } })).statusCode, 200);
        assert.equal((await c.call({ method: 'GET', path: 'account/authenticators/recovery-codes' })).statusCode, 404);
      });
    }
  });
}
