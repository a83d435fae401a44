// A successful sign-in writes several things: the failure count starts again, last_login, the
// new credential (refresh family and token, or session and token key) and the audit row. They
// land together or not at all. A real trigger in the database refuses one of those writes; the
// others must then be absent too, and the answer is an error, not a credential that was never
// stored. (The attempt itself is counted before the password is checked, in its own
// transaction, so that parallel guesses count: that one stays, by design.)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startCore, refuseInserts, obtainPair, PASSWORD, type CoreFixture } from './support.ts';

for (const { engine, skip } of engines) {
  describe(`a sign-in's writes are one transaction [${engine.name}]`, { skip }, () => {
    let f: CoreFixture;
    before(async () => {
      f = await startCore(engine);
    });
    after(async () => {
      await f?.close();
    });

    async function stateOf(userPk: number, username: string) {
      const db = f.store.db;
      return {
        failures: (await db.selectFrom('login_failures').select('failures').where('username', '=', username).executeTakeFirst())?.failures ?? 0,
        lastLogin: (await db.selectFrom('users').select('last_login').where('pk', '=', userPk).executeTakeFirstOrThrow()).last_login,
        families: (await db.selectFrom('token_families').select('id').where('user_pk', '=', userPk).execute()).length,
        sessions: (await db.selectFrom('sessions').select('id').where('user_pk', '=', userPk).execute()).length,
        tokenKeys: (await db.selectFrom('token_keys').select('user_pk').where('user_pk', '=', userPk).execute()).length,
        signedInRows: (await db.selectFrom('audit_events').select('pk').where('type', '=', 'sign_in.succeeded').where('username', '=', username).execute()).length,
      };
    }

    const signIns = {
      'JWT pair (POST /api/token, POST /token)': (username: string) => obtainPair(f.core, undefined, username, PASSWORD),
      'token key and session (POST /api/auth/login/)': (username: string) => f.core.signIn.now({ tenant: undefined, factor: { method: 'password', by: 'username', identifier: username, password: PASSWORD }, issue: { kind: 'session_and_key' } }),
    };

    for (const [what, signIn] of Object.entries(signIns)) {
      for (const refused of ['audit_events', what.startsWith('JWT') ? 'refresh_tokens' : 'token_keys']) {
        it(`${what}: when the database refuses the ${refused} row, nothing else of the sign-in is written`, async () => {
          const username = `u_${refused}_${what.startsWith('JWT') ? 'jwt' : 'key'}`;
          const u = await f.user(username);
          const row = await f.store.read.users.findByUsername(u.tenantPk, username);
          await assert.rejects(obtainPair(f.core, undefined, username, 'a-wrong-password'), { code: 'INVALID_CREDENTIALS' });
          const before = await stateOf(row!.pk, username);
          assert.equal(before.failures, 1);

          const allow = await refuseInserts(f.store, refused);
          try {
            await assert.rejects(signIn(username), /refused by the test/);
          } finally {
            await allow();
          }
          const after = await stateOf(row!.pk, username);
          assert.deepEqual(after, { ...before, failures: 2 }, 'only the attempt itself is counted');

          // With the database willing again, the same sign-in writes all of it.
          await signIn(username);
          const done = await stateOf(row!.pk, username);
          assert.equal(done.failures, 0);
          assert.ok(done.lastLogin !== null);
          assert.equal(done.signedInRows, 1);
          if (what.startsWith('JWT')) assert.equal(done.families, 1);
          else assert.deepEqual([done.sessions, done.tokenKeys], [1, 1]);
        });
      }
    }
  });
}
