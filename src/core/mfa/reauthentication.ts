// Reauthentication: a signed-in session proves itself again (its password, or a second factor)
// before a change an attacker with a stolen session would want: second factors, e-mail
// addresses, the password. Within the tenant's `reauthentication_timeout` after the sign-in or
// the last reauthentication no proof is asked (django-allauth's REAUTHENTICATION_TIMEOUT).
// Only a session can be reauthenticated; other credentials (tokens) are asked every time.
import type { Clock } from '../clock.ts';
import type { Principal } from '../types.ts';
import { DomainError, fieldError } from '../errors.ts';
import type { SettingsService } from '../settings/settings-service.ts';
import type { SessionsService } from '../sessions/sessions-service.ts';
import type { Passwords } from '../credentials/passwords.ts';
import type { SecondFactors, SecondFactorInput } from './second-factors.ts';
import type { LoginThrottle } from '../credentials/login-throttle.ts';
import type { RequestOrigin } from '../audit/audit-log.ts';
import type { Events } from '../events.ts';

export class Reauthentication {
  private readonly d: { clock: Clock; settings: SettingsService; sessions: SessionsService; secondFactors: SecondFactors; passwords: Passwords; throttle: LoginThrottle; events: Events; origin: () => RequestOrigin | undefined };

  constructor(deps: Reauthentication['d']) {
    this.d = deps;
  }

  /** Whether `p` proved itself recently enough for a sensitive change. */
  async isRecent(p: Principal): Promise<boolean> {
    if (p.method !== 'session' || p.authenticatedAt === undefined) return false;
    const { reauthentication_timeout } = await this.d.settings.forTenant(p.tenant.pk);
    return this.d.clock.now() - p.authenticatedAt < reauthentication_timeout * 1000;
  }

  /** Refuses (REAUTHENTICATION_REQUIRED) unless `p` proved itself recently. */
  async require(p: Principal): Promise<void> {
    if (!(await this.isRecent(p))) throw new DomainError('REAUTHENTICATION_REQUIRED', 'Confirm it is you: enter your password or a code from your authenticator.');
  }

  /** The session proves itself again by its password (counted in the account's throttle). */
  async withPassword(p: Principal, password: string): Promise<void> {
    const session = await this.sessionOf(p);
    const ip = this.d.origin()?.ip;
    await this.d.throttle.check(p.tenant, p.user.username, ip);
    const claimed = await this.d.throttle.claim(p.tenant, p.user.username);
    if (!(await this.d.passwords.isCurrent(p.user, password))) {
      await this.d.throttle.failed(p.tenant, ip, p.user.pk, claimed, { type: 'sign_in.failed', tenantPk: p.tenant.pk, userPk: p.user.pk, detail: { reason: 'bad_password', reauthentication: true } }, p.user.username);
      throw fieldError('password', 'Incorrect password.');
    }
    await this.d.throttle.succeeded(p.tenant, p.user.username);
    await this.d.sessions.reauthenticated(session, 'pwd');
    await this.d.events.emit({ type: 'reauthenticated', tenantPk: p.tenant.pk, userPk: p.user.pk, detail: { method: 'pwd' } });
  }

  /** ... or by a second factor. */
  async withSecondFactor(p: Principal, input: SecondFactorInput): Promise<{ method: string }> {
    const session = await this.sessionOf(p);
    const proved = await this.d.secondFactors.verify(p.tenant, p.user, input, 'reauthenticate');
    await this.d.sessions.reauthenticated(session, proved.method);
    await this.d.events.emit({ type: 'reauthenticated', tenantPk: p.tenant.pk, userPk: p.user.pk, detail: { method: proved.method } });
    return proved;
  }

  private async sessionOf(p: Principal) {
    const session = p.method === 'session' && p.sessionId ? await this.d.sessions.byId(p.sessionId) : null;
    if (!session) throw new DomainError('NOT_AUTHENTICATED', 'Only a signed-in session can be reauthenticated.');
    return session;
  }
}
