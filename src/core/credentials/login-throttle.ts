// Slows and then stops password guessing. Per account name (counted in the database, so exact
// on every instance): after `login_throttle_threshold` consecutive failures each attempt must
// wait 1 s, doubling to at most 5 min (429 + Retry-After); after `login_lockout_threshold`
// (at most 100, NIST SP 800-63B §5.2.2) the account is locked until a password reset or an
// administrator unlocks it. Per client address: at most `login_ip_limit` failures in a rolling
// minute (see rolling-limit.ts), whatever the names: a short rate, not a long ban, because
// behind a proxy without TRUST_PROXY every user shares one address, and a tripped address must
// heal within the minute. Counting by the name tried, not by the user, treats unknown names
// alike (no enumeration).
import type { Store } from '../store.ts';
import type { Counters } from '../counters/counters.ts';
import type { Clock } from '../clock.ts';
import type { Events, SecurityEvent } from '../events.ts';
import type { Tenant } from '../types.ts';
import type { SettingsService } from '../settings/settings-service.ts';
import { DomainError } from '../errors.ts';
import { RollingLimit } from './rolling-limit.ts';

const MAX_DELAY_S = 300;
const IP_WINDOW_S = 60;

const accountKey = (name: string) => name.normalize('NFKC').toLowerCase().slice(0, 254);

export class LoginThrottle {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly settings: SettingsService;
  private readonly perAddress: RollingLimit;
  private readonly events: Events;

  constructor(deps: { store: Store; clock: Clock; settings: SettingsService; counters: Counters; events: Events }) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.settings = deps.settings;
    this.perAddress = new RollingLimit(deps.counters, deps.clock);
    this.events = deps.events;
  }

  /** Refuses an attempt that must wait (RATE_LIMITED) or whose account is locked (ACCOUNT_LOCKED). */
  async check(tenant: Tenant, name: string, ip: string | undefined): Promise<void> {
    const s = await this.settings.forTenant(tenant.pk);
    await this.checkAddress(tenant, ip);
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

  /**
   * Refuses (RATE_LIMITED) an attempt from an address with too many failures in the minute: for
   * a sign-in that names no account (a passkey alone: the credential names its user), the only
   * limit there is.
   */
  async checkAddress(tenant: Tenant, ip: string | undefined): Promise<void> {
    if (!ip) return;
    const s = await this.settings.forTenant(tenant.pk);
    const c = await this.perAddress.check(`ip:${tenant.pk}:${ip}`, s.login_ip_limit, IP_WINDOW_S, 'heals');
    if (!c.allowed) {
      throw new DomainError('RATE_LIMITED', `Too many failed sign-ins from this address. Try again in ${c.retryAfter} seconds.`, { retryAfter: c.retryAfter });
    }
  }

  /**
   * A failed sign-in that names no account (a passkey alone): records `failure` and counts it for
   * the address, as a wrong password is counted there. No account's count moves, so a stream of
   * bad credentials locks no one out.
   */
  async failedFromAddress(tenant: Tenant, ip: string | undefined, failure: SecurityEvent): Promise<void> {
    await this.store.transaction(() => this.events.emit(failure));
    if (ip) await this.perAddress.hit(`ip:${tenant.pk}:${ip}`, IP_WINDOW_S, 'heals');
  }

  /**
   * Counts an attempt for each of `names` before its password is checked, in one transaction that
   * refuses (counting nothing) when the name is locked or must wait. Attempts still in flight
   * count towards the lock, so a parallel burst gets no more password checks than the lock
   * allows (checking first and counting after the hash let a whole burst through); the delay
   * runs from the last failure, so parallel sign-ins that succeed are not slowed. Answers the
   * count including this attempt.
   */
  async claim(tenant: Tenant, ...names: string[]): Promise<number> {
    const s = await this.settings.forTenant(tenant.pk);
    const now = this.clock.now();
    // One transaction for every name of the account, rows locked in one order: all count or none.
    return this.store.transaction(async (r) => {
      let highest = 0;
      for (const key of [...new Set(names.map(accountKey))].sort()) {
        const { failures, lastFailureAt } = await r.loginFailures.claim(tenant.pk, key);
        const before = failures - 1;
        if (before >= s.login_lockout_threshold) {
          throw new DomainError('ACCOUNT_LOCKED', 'This account is locked after too many failed sign-ins. Reset the password, or ask an administrator to unlock it.');
        }
        if (before >= s.login_throttle_threshold && lastFailureAt > 0) {
          const delay = Math.min(2 ** (before - s.login_throttle_threshold), MAX_DELAY_S);
          const wait = Math.ceil((lastFailureAt + delay * 1000 - now) / 1000);
          if (wait > 0) throw new DomainError('RATE_LIMITED', `Too many failed sign-ins. Try again in ${wait} seconds.`, { retryAfter: wait });
        }
        highest = Math.max(highest, failures);
      }
      return highest;
    });
  }

  /**
   * A claimed attempt failed: stamps its time on each name and records `failure` (the sign-in's
   * own event) and the lock it caused, in one transaction; then counts it for the address.
   */
  async failed(tenant: Tenant, ip: string | undefined, userPk: number | null, claimed: number, failure: SecurityEvent, ...names: string[]): Promise<void> {
    const s = await this.settings.forTenant(tenant.pk);
    const now = this.clock.now();
    await this.store.transaction(async (r) => {
      for (const key of new Set(names.map(accountKey))) await r.loginFailures.markFailed(tenant.pk, key, now);
      await this.events.emit(failure);
      if (claimed === s.login_lockout_threshold) {
        await this.events.emit({ type: 'account.locked', tenantPk: tenant.pk, userPk, detail: { failures: claimed } });
      }
    });
    // Outside the transaction: the counters may live in Redis, a network call away.
    if (ip) await this.perAddress.hit(`ip:${tenant.pk}:${ip}`, IP_WINDOW_S, 'heals');
  }

  /** A claimed attempt succeeded: the count of each name starts again. */
  async succeeded(tenant: Tenant, ...names: string[]): Promise<void> {
    await this.store.transaction(async (r) => {
      for (const key of new Set(names.map(accountKey))) await r.loginFailures.clear(tenant.pk, key);
    });
  }

  /** Lifts a lock (after a password reset, or by an administrator). */
  async unlock(tenant: Tenant, ...names: string[]): Promise<void> {
    await this.store.transaction(async (r) => {
      for (const n of names) if (n) await r.loginFailures.clear(tenant.pk, accountKey(n));
    });
  }
}
