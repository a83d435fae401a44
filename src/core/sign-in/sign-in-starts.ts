// Sign-ins that begin before anyone is known write something that lives for minutes: a passkey
// challenge with no user (a passkey alone, a sign-up by passkey), a request to an upstream
// provider, a sign-in code mailed to an address. Per client address at most
// `sign_in_start_ip_limit` of them in a rolling minute, so one script cannot fill the database
// or mail a thousand addresses; generous, and healing within the minute, because behind a proxy
// without TRUST_PROXY every user shares one address (login-throttle.ts has the same reasoning).
import { DomainError } from '../errors.ts';
import type { RollingLimit } from '../credentials/rolling-limit.ts';
import type { SettingsService } from '../settings/settings-service.ts';
import type { RequestOrigin } from '../audit/audit-log.ts';
import type { Tenant } from '../types.ts';

const WINDOW_S = 60;

export class SignInStarts {
  private readonly d: { settings: SettingsService; limits: RollingLimit; origin: () => RequestOrigin | undefined };

  constructor(deps: SignInStarts['d']) {
    this.d = deps;
  }

  /** Counts one start from the request's address in `tenant`, or refuses it (RATE_LIMITED). No address (a tool, a test): no limit. */
  async count(tenant: Tenant): Promise<void> {
    const ip = this.d.origin()?.ip;
    if (!ip) return;
    const { sign_in_start_ip_limit: limit } = await this.d.settings.forTenant(tenant.pk);
    const key = `start:${tenant.pk}:${ip}`;
    const c = await this.d.limits.check(key, limit, WINDOW_S, 'heals');
    if (!c.allowed) {
      throw new DomainError('RATE_LIMITED', `Too many sign-ins started from this address. Try again in ${c.retryAfter} seconds.`, { retryAfter: c.retryAfter });
    }
    await this.d.limits.hit(key, WINDOW_S, 'heals');
  }
}
