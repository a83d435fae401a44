// A real SMTP server on a loopback port that keeps what it receives, for tests that follow the
// links of the messages Latchkey sends.
import { SMTPServer } from 'smtp-server';

export interface Received {
  to: string[];
  raw: string;
  /** The message's text, quoted-printable soft breaks undone. */
  text: string;
}

export interface SmtpSink {
  url: string;
  messages: Received[];
  /** Waits (polling, at most `ms`) for a message to `to` beyond the first `after` ones. */
  next(to: string, after?: number, ms?: number): Promise<Received>;
  close(): Promise<void>;
}

const unQuotedPrintable = (s: string) => s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h) => String.fromCharCode(parseInt(h, 16)));

export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: Received[] = [];
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        messages.push({ to: session.envelope.rcptTo.map((r) => r.address), raw, text: unQuotedPrintable(raw) });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    async next(to, after = 0, ms = 5000) {
      const until = Date.now() + ms;
      for (;;) {
        const found = messages.filter((m) => m.to.includes(to))[after];
        if (found) return found;
        if (Date.now() > until) throw new Error(`no message #${after + 1} to ${to} within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The query parameter `name` of the first link in a message that has it. */
export function linkParam(m: Received, name: string): string {
  const match = m.text.match(new RegExp(`[?&]${name}=([^&\\s"<]+)`));
  if (!match) throw new Error(`no ${name}= in the message`);
  return decodeURIComponent(match[1]!);
}
