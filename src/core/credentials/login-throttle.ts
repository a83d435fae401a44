// Slows and then stops password guessing. Per account name (counted in the database, so exact
// on every instance): after `login_throttle_threshold` consecutive failures each attempt must
// wait 1 s, doubling to at most 5 min (429 + Retry-After); after `login_lockout_threshold`
// (at most 100, NIST SP 800-63B §5.2.2) the account is locked until a password reset or an
// administrator unlocks it. Per client address: `login_ip_limit` failures in 15 minutes.
// Counting by the name tried, not by the user, treats unknown names alike (no enumeration).
import type { Store } from '../../store/index.ts';
import type { Counters } from '../../store/counters.ts';
import type { Clock } from '../clock.ts';
import type { Events } from '../events.ts';
import type { Tenant } from '../types.ts';
import type { SettingsService } from '../settings/settings-service.ts';
import { DomainError } from '../errors.ts';

const MAX_DELAY_S = 300;
const IP_WINDOW_S = 900;

const accountKey = (name: string) => name.normalize('NFKC').toLowerCase().slice(0, 254);

export class LoginThrottle {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly settings: SettingsService;
  private readonly counters: Counters;
  private readonly events: Events;

  constructor(deps: { store: Store; clock: Clock; settings: SettingsService; counters: Counters; events: Events }) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.settings = deps.settings;
    this.counters = deps.counters;
    this.events = deps.events;
  }

  /** Refuses an attempt that must wait (RATE_LIMITED) or whose account is locked (ACCOUNT_LOCKED). */
  async check(tenant: Tenant, name: string, ip: string | undefined): Promise<void> {
    const s = await this.settings.forTenant(tenant.pk);
    if (ip) {
      const c = await this.counters.get(`ip:${tenant.pk}:${ip}`);
      if (c.count >= s.login_ip_limit) {
        throw new DomainError('RATE_LIMITED', `Too many failed sign-ins from this address. Try again in ${c.ttl} seconds.`, { retryAfter: Math.max(c.ttl, 1) });
      }
    }
    const row = await this.store.read.loginFailures.find(tenant.pk, accountKey(name));
    if (!row) return;
    if (row.failures >= s.login_lockout_threshold) {
      throw new DomainError('ACCOUNT_LOCKED', 'This account is locked after too many failed sign-ins. Reset the password, or ask an administrator to unlock it.');
    }
    if (row.failures >= s.login_throttle_threshold) {
      const delay = Math.min(2 ** (row.failures - s.login_throttle_threshold), MAX_DELAY_S);
      const wait = Math.ceil((row.last_failure_at + delay * 1000 - this.clock.now()) / 1000);
      if (wait > 0) {
        throw new DomainError('RATE_LIMITED', `Too many failed sign-ins. Try again in ${wait} seconds.`, { retryAfter: wait });
      }
    }
  }

  async failed(tenant: Tenant, name: string, ip: string | undefined, userPk: number | null): Promise<void> {
    const s = await this.settings.forTenant(tenant.pk);
    if (ip) await this.counters.incr(`ip:${tenant.pk}:${ip}`, IP_WINDOW_S);
    const n = await this.store.transaction((r) => r.loginFailures.record(tenant.pk, accountKey(name), this.clock.now()));
    if (n === s.login_lockout_threshold) {
      await this.events.emit({ type: 'account.locked', tenantPk: tenant.pk, userPk, detail: { failures: n } });
    }
  }

  async succeeded(tenant: Tenant, name: string): Promise<void> {
    const key = accountKey(name);
    if (await this.store.read.loginFailures.find(tenant.pk, key)) await this.store.transaction((r) => r.loginFailures.clear(tenant.pk, key));
  }

  /** Lifts a lock (after a password reset, or by an administrator). */
  async unlock(tenant: Tenant, ...names: string[]): Promise<void> {
    await this.store.transaction(async (r) => {
      for (const n of names) if (n) await r.loginFailures.clear(tenant.pk, accountKey(n));
    });
  }
}
