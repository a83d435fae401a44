// Security events: what happened, to whom, by whom. The audit log and the metrics listen here,
// so a service says once what it did and every consumer hears it (docs/events.md lists them).

export const EVENT_TYPES = [
  'sign_in.succeeded',
  'sign_in.failed',
  'account.locked',
  'password.changed',
  'password.reset',
  'email.changed',
  'token.revoked',
  'refresh_token.reused',
  'session.ended',
  'user.created',
  'user.updated',
  'user.deleted',
  'group.changed',
  'settings.changed',
  'tenant.changed',
  'client.changed',
  'signing_key.rotated',
  'users.imported',
  'mfa.enabled',
  'mfa.disabled',
  'mfa.recovery_codes_generated',
  'mfa.recovery_code_used',
  'mfa.failed',
  'reauthenticated',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export interface SecurityEvent {
  type: EventType;
  tenantPk: number | null;
  /** The user the event is about. */
  userPk: number | null;
  /** Who did it, when someone else than the user (an administrator). */
  actorPk?: number | null;
  /** Safe details only: never a password, token or hash. */
  detail?: Record<string, string | number | boolean | null>;
}

/**
 * Thrown by a listener whose write belongs to the action's own transaction (the audit row of a
 * sign-in): the action fails with `cause` instead of committing without it.
 */
export class FailsAction extends Error {
  constructor(cause: unknown) {
    super('a listener failed inside the action\'s transaction', { cause });
  }
}

export type EventListener = (event: SecurityEvent & { at: number }) => void | Promise<void>;

export class Events {
  private readonly listeners: EventListener[] = [];
  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  on(listener: EventListener): void {
    this.listeners.push(listener);
  }

  /** Tells every listener; a failing listener is reported, never breaks the action. */
  async emit(event: SecurityEvent): Promise<void> {
    const e = { ...event, at: this.now() };
    for (const l of this.listeners) {
      try {
        await l(e);
      } catch (err) {
        if (err instanceof FailsAction) throw err.cause;
        this.onError(err, e);
      }
    }
  }

  onError: (err: unknown, event: SecurityEvent) => void = () => {};
}
