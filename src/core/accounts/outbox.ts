// Sending the e-mails of self-service: before answering (the answer says whether it left), or
// after the answer (resets and resends, whose answer and timing must not depend on whether the
// address belongs to anyone).
import { DomainError } from '../errors.ts';
import type { Mailer, MailMessage } from '../mail/mailer.ts';

export class Outbox {
  private readonly mailer: Mailer;
  /** Failures of messages sent after the answer go here: they must not change the answer. */
  private readonly onBackgroundError: (err: unknown) => void;
  private readonly pending = new Set<Promise<void>>();

  constructor(mailer: Mailer, onBackgroundError: (err: unknown) => void) {
    this.mailer = mailer;
    this.onBackgroundError = onBackgroundError;
  }

  /** Sends now; UNAVAILABLE when the message cannot leave (the caller takes back what it made for it). */
  async sendOrFail(message: MailMessage): Promise<void> {
    try {
      await this.mailer.send(message);
    } catch (err) {
      throw new DomainError('UNAVAILABLE', 'The e-mail could not be sent. Try again later.', { cause: err });
    }
  }

  /** Sends as part of work done after the answer (failures go to that work's handler). */
  send(message: MailMessage): Promise<void> {
    return this.mailer.send(message);
  }

  /**
   * Runs work after the answer has gone out (on a later turn of the event loop), so that
   * neither the answer nor its timing depends on it; failures go to onBackgroundError.
   */
  afterAnswer(work: () => Promise<void>): void {
    const task: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(work)
      .catch((err) => this.onBackgroundError(err))
      .finally(() => this.pending.delete(task));
    this.pending.add(task);
  }

  /** Resolves once the work begun after earlier answers (reset and verification e-mails) is done. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
