// Signing in by a code sent by e-mail (django-allauth's "login by code"): a first factor. A
// request makes a code for the account of an address and mails it; the answer is a `codeToken`
// that names the request (the same answer, in the same time, whether or not the address has an
// account: the look-up and the mail happen after it). The code is stored only as a hash bound to
// its token, works once, for five minutes, and three wrong codes end the request; wrong codes
// also count in the account's failure throttle, as wrong passwords do. A request counts in the
// address's e-mail limit (`verification_email_limit`); a resend makes a new code for the same
// token, voids the earlier ones, and is allowed three times per request.
import crypto from 'node:crypto';
import type { Store } from '../store.ts';
import type { Clock } from '../clock.ts';
import type { Counters } from '../counters/counters.ts';
import type { RequestOrigin } from '../audit/audit-log.ts';
import type { LoginThrottle } from '../credentials/login-throttle.ts';
import type { EmailLimits } from '../accounts/email-limits.ts';
import type { SignInStarts } from './sign-in-starts.ts';
import type { Outbox } from '../accounts/outbox.ts';
import type { TenantsService } from '../tenants/tenants-service.ts';
import { DomainError, fieldError, invalidCredentials } from '../errors.ts';
import { randomToken, sha256 } from '../secrets.ts';
import type { Tenant } from '../types.ts';
import { emailProblem, normalizeEmail } from '../users/user-fields.ts';
import { loginCodeMessage } from '../mail/messages.ts';
import type { FirstFactor } from './first-factors.ts';
import type { FirstFactorInput } from './sign-in-request.ts';

export const LOGIN_CODE_LIFETIME_S = 300;
export const LOGIN_CODE_MAX_ATTEMPTS = 3;
const MAX_RESENDS = 3;
/** Six characters of an alphabet without look-alikes (no 0/O, 1/I/L): about 30 bits. */
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

const requestHash = (codeToken: string) => sha256(`login_code:${codeToken}`);
const codeHash = (codeToken: string, generation: number, code: string) => sha256(`login_code:${codeToken}:${generation}:${code.trim().toUpperCase()}`);
const generationKey = (codeToken: string) => `login_code:gen:${requestHash(codeToken).slice(0, 32)}`;
const failuresKey = (codeToken: string) => `login_code:fail:${requestHash(codeToken).slice(0, 32)}`;

function newCode(): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += ALPHABET[crypto.randomInt(ALPHABET.length)];
  return s;
}

interface Deps {
  store: Store; clock: Clock; counters: Counters; throttle: LoginThrottle; limits: EmailLimits; starts: SignInStarts; outbox: Outbox; tenants: TenantsService;
  origin: () => RequestOrigin | undefined;
}

export class LoginCodes {
  private readonly d: Deps;

  constructor(deps: Deps) {
    this.d = deps;
  }

  /** Mails a sign-in code to the account of `email` (if there is one); answers the request's token. */
  async request(tenantName: string | undefined, email: string): Promise<{ codeToken: string; expiresAt: number }> {
    const tenant = await this.d.tenants.resolve(tenantName);
    const addr = normalizeEmail(email);
    if (!addr || emailProblem(addr)) throw fieldError('email', 'Enter a valid email address.');
    await this.d.starts.count(tenant);
    await this.d.limits.count(tenant, 'login_code', addr);
    const codeToken = randomToken(32);
    const now = this.d.clock.now();
    this.d.outbox.afterAnswer(async () => {
      const user = await this.d.store.read.users.findOneByEmail(tenant.pk, addr);
      if (!user?.isActive) return;
      await this.d.store.transaction((r) => r.emailTokens.insert({
        token_hash: requestHash(codeToken), purpose: 'login_code', user_pk: user.pk, email_pk: null, created_at: now, expires_at: now + LOGIN_CODE_LIFETIME_S * 1000, used_at: null,
      }));
      await this.mail(tenant, codeToken, 0, addr, user.username, user.pk, now);
    });
    return { codeToken, expiresAt: now + LOGIN_CODE_LIFETIME_S * 1000 };
  }

  /** A new code for the same request (the earlier ones stop working); RATE_LIMITED after three. */
  async resend(tenantName: string | undefined, codeToken: string): Promise<void> {
    const tenant = await this.d.tenants.resolve(tenantName);
    const row = await this.live(codeToken);
    const { count } = await this.d.counters.incr(generationKey(codeToken), LOGIN_CODE_LIFETIME_S * 2);
    if (count > MAX_RESENDS) throw new DomainError('RATE_LIMITED', 'Too many codes were sent. Request a new one later.', { retryAfter: 60 });
    // The request counted in the address's e-mail limit; its resends are bounded by MAX_RESENDS.
    if (!row || row.tenantPk !== tenant.pk) return; // the same answer for a request without an account
    this.d.outbox.afterAnswer(() => this.mail(tenant, codeToken, count, row.email, row.username, row.user.pk, this.d.clock.now()));
  }

  private async live(codeToken: string) {
    if (codeToken.length === 0 || codeToken.length > 200) return undefined;
    const row = await this.d.store.read.emailTokens.find(requestHash(codeToken));
    if (!row || row.purpose !== 'login_code' || row.used_at !== null || row.expires_at <= this.d.clock.now()) return undefined;
    const user = await this.d.store.read.users.findByPk(row.user_pk);
    if (!user) return undefined;
    return { row, user, tenantPk: user.tenantPk, email: user.email, username: user.username };
  }

  private async mail(tenant: Tenant, codeToken: string, generation: number, to: string, username: string, userPk: number, now: number): Promise<void> {
    const code = newCode();
    await this.d.store.transaction((r) => r.emailTokens.insert({
      token_hash: codeHash(codeToken, generation, code), purpose: 'login_code', user_pk: userPk, email_pk: null, created_at: now, expires_at: now + LOGIN_CODE_LIFETIME_S * 1000, used_at: null,
    }));
    await this.d.outbox.send(loginCodeMessage(tenant.displayName || tenant.name, to, username, code, LOGIN_CODE_LIFETIME_S));
  }

  /** The first factor: the code of an open request proves the account it was sent to. */
  factor(): FirstFactor<Extract<FirstFactorInput, { method: 'code' }>> {
    return {
      method: 'code',
      prove: async (tenant, input) => {
        const open = await this.live(input.codeToken);
        if (!open || open.tenantPk !== tenant.pk) throw invalidCredentials();
        const { user } = open;
        const ip = this.d.origin()?.ip;
        await this.d.throttle.check(tenant, user.username, ip);
        const claimed = await this.d.throttle.claim(tenant, user.username);
        const generation = (await this.d.counters.get(generationKey(input.codeToken))).count;
        const code = typeof input.code === 'string' ? input.code : '';
        const hash = code.length > 0 && code.length <= 64 ? codeHash(input.codeToken, generation, code) : undefined;
        const row = hash ? await this.d.store.read.emailTokens.find(hash) : undefined;
        const now = this.d.clock.now();
        const fail = async (reason: string): Promise<never> => {
          await this.d.throttle.failed(tenant, ip, user.pk, claimed, { type: 'sign_in.failed', tenantPk: tenant.pk, userPk: user.pk, detail: { reason, method: 'code' } }, user.username);
          throw invalidCredentials();
        };
        if (!row || row.purpose !== 'login_code' || row.used_at !== null || row.expires_at <= now) {
          const { count } = await this.d.counters.incr(failuresKey(input.codeToken), LOGIN_CODE_LIFETIME_S * 2);
          // The third wrong code ends the request: no code of it works any more.
          if (count >= LOGIN_CODE_MAX_ATTEMPTS) await this.d.store.transaction((r) => r.emailTokens.consume(open.row.token_hash, now));
          return fail('bad_code');
        }
        // Single use: of two requests with one code only one gets past here.
        if (!(await this.d.store.transaction((r) => r.emailTokens.consume(open.row.token_hash, now)))) return fail('bad_code');
        await this.d.store.transaction((r) => r.emailTokens.consume(row.token_hash, now));
        return {
          user,
          // Not a second factor: an account with one is still asked for it.
          amr: ['code'],
          accepted: async () => {},
          settle: () => this.d.throttle.succeeded(tenant, user.username),
          refuse: (reason) => fail(reason),
        };
      },
    };
  }
}
