// Seeds the `totp-verify` scenario: users with TOTP, each with one sign-in of the headless app
// client waiting on its second factor (the password step already done), so that every request of
// the load is only the TOTP step (POST /_allauth/app/v1/auth/2fa/authenticate) and the writes of
// the completed sign-in. Made through the core's own API in this process, before the server
// starts, with the key the server is given (LATCHKEY_SECRET_KEYS), over the same database file.
import os from 'node:os';
import path from 'node:path';
import { TOTP, Secret } from 'otpauth';
import { openStore } from '../src/store/index.ts';
import { createArgon2Hasher, createCore, OPERATOR, SecretBox } from '../src/core/index.ts';
import { outboxMailer } from '../src/mail/transports.ts';

export interface TotpFlow {
  /** The app client's session token while the sign-in is pending (`flow:<token>`). */
  sessionToken: string;
  totp: TOTP;
}

export async function seedTotpFlows(databaseUrl: string, opts: { count: number; secretKeys: string[]; publicUrl: string }): Promise<TotpFlow[]> {
  const store = openStore(databaseUrl);
  try {
    // Cheap hashes for these users only: the password step is not what this scenario measures.
    const core = createCore({
      store, publicUrl: opts.publicUrl, secretBox: new SecretBox(opts.secretKeys),
      hasher: createArgon2Hasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 }), mailer: outboxMailer(path.join(os.tmpdir(), 'latchkey-bench-outbox')),
    });
    await core.prepare();
    const tenant = await core.tenants.ensureDefault();
    const flows: TotpFlow[] = [];
    const password = 'totp-bench-password-9';
    for (let i = 0; i < opts.count; i++) {
      const user = await core.users.create(OPERATOR, { username: `totp${String(i).padStart(5, '0')}`, password, email: `totp${i}@example.com` });
      const setup = await core.secondFactors.totpSetup(tenant, user);
      const totp = new TOTP({ secret: Secret.fromBase32(setup.secret), algorithm: 'SHA1', digits: 6, period: 30 });
      await core.secondFactors.totpActivate(tenant, user, totp.generate({ timestamp: Date.now() }));
      const outcome = await core.signIn.start({
        tenant: undefined, factor: { method: 'password', by: 'username', identifier: user.username, password },
        issue: { kind: 'session', withTokens: true }, continuable: true,
      });
      if (outcome.status !== 'pending' || outcome.step !== 'mfa_authenticate') throw new Error(`totp-verify seed: expected a pending second factor, got ${outcome.status}`);
      flows.push({ sessionToken: `flow:${outcome.flowToken}`, totp });
    }
    return flows;
  } finally {
    await store.close();
  }
}

/**
 * The code the user's app shows next (the step after now): the activation used this step's code,
 * and a code is accepted once per step, one step of drift allowed.
 */
export const nextCode = (totp: TOTP) => totp.generate({ timestamp: Date.now() + 30_000 });
