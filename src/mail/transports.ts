// Mail transports through nodemailer: SMTP when SMTP_URL is set, otherwise an outbox folder of
// .eml files (and a log line), so a new user can follow a link locally.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { loadNodemailer } from '../optional-modules.ts';
import type { Mailer, MailMessage } from '../core/mail/mailer.ts';

export interface TransportOptions {
  from?: string;
  log?: (msg: string, meta: Record<string, unknown>) => void;
}

const DEFAULT_FROM = 'Latchkey <no-reply@localhost>';

export function smtpMailer(url: string, opts: TransportOptions = {}): Mailer {
  // Short timeouts: a request waits on the send, and a dead server must become a 503 quickly.
  const transport = loadNodemailer().createTransport(url, { connectionTimeout: 5000, greetingTimeout: 5000, socketTimeout: 10_000 } as object);
  return {
    async send(m: MailMessage) {
      await transport.sendMail({ from: opts.from ?? DEFAULT_FROM, to: m.to, subject: m.subject, text: m.text, html: m.html });
    },
  };
}

export function outboxMailer(dir: string, opts: TransportOptions = {}): Mailer {
  const createOutbox = () => loadNodemailer().createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  let transport: ReturnType<typeof createOutbox> | undefined;
  return {
    async send(m: MailMessage) {
      transport ??= createOutbox();
      const info = await transport.sendMail({ from: opts.from ?? DEFAULT_FROM, to: m.to, subject: m.subject, text: m.text, html: m.html });
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${crypto.randomBytes(4).toString('hex')}.eml`);
      fs.writeFileSync(file, info.message as Buffer);
      // Beside it, the text part as it reads: the .eml is MIME-encoded (long lines are
      // quoted-printable), which is awkward to copy a link from.
      fs.writeFileSync(file.replace(/\.eml$/, '.txt'), `To: ${m.to}\nSubject: ${m.subject}\n\n${m.text}\n`);
      // The log names the file, not the link: links carry one-time secrets.
      opts.log?.('e-mail written to the outbox', { to: m.to, subject: m.subject, file });
    },
  };
}
