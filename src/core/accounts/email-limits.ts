// How many e-mails one address may be sent: django-allauth's defaults are the anchor (a reset
// e-mail at most `password_reset_email_limit` a minute, a verification e-mail at most
// `verification_email_limit` per 3 minutes), counted by the address alone, before anything is
// looked up, so the answer is the same whether or not it belongs to anyone.
import { DomainError } from '../errors.ts';
import type { RollingLimit } from '../credentials/rolling-limit.ts';
import { sha256 } from '../secrets.ts';
import type { SettingsService } from '../settings/settings-service.ts';
import type { Tenant } from '../types.ts';

/** The windows of the e-mail limits, django-allauth's: reset e-mails per minute, verification e-mails per 3 minutes. */
const RESET_WINDOW_S = 60;
const VERIFICATION_WINDOW_S = 180;

export class EmailLimits {
  private readonly settings: SettingsService;
  private readonly limits: RollingLimit;

  constructor(settings: SettingsService, limits: RollingLimit) {
    this.settings = settings;
    this.limits = limits;
  }

  /** Counts one e-mail of `kind` to `addr`, or refuses it (RATE_LIMITED) when the address had its share. */
  async count(tenant: Tenant, kind: 'reset' | 'verify' | 'login_code', addr: string): Promise<void> {
    const settings = await this.settings.forTenant(tenant.pk);
    const [limit, window] = kind === 'reset' ? [settings.password_reset_email_limit, RESET_WINDOW_S] : [settings.verification_email_limit, VERIFICATION_WINDOW_S];
    // The address is hashed: the counters need no personal data.
    const key = `mail:${kind}:${tenant.pk}:${sha256(addr.toLowerCase()).slice(0, 32)}`;
    const c = await this.limits.check(key, limit, window, 'strict');
    if (!c.allowed) {
      throw new DomainError('RATE_LIMITED', `Too many e-mails to this address. Try again in ${c.retryAfter} seconds.`, { retryAfter: c.retryAfter });
    }
    await this.limits.hit(key, window, 'strict');
  }
}
