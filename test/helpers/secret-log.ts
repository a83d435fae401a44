// The log-leak check: every server a test builds logs (JSON, level info) to one file, and every
// secret a test sends or receives (passwords, tokens, keys, client secrets) is noted in another.
// After the whole run, test/run.ts greps the logs for each noted secret: none may appear.
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';

const DIR = process.env.LATCHKEY_TEST_LOG_DIR;

const SECRET_FIELD = /pass(word)?\d?$|secret|token|^refresh$|^access$|^key$/i;
/** Fields whose names say token but whose values are the protocol's words (`refresh_token`, `client_secret_basic`). */
const PROTOCOL_WORD = /^(token_type(_hint)?|token_endpoint_auth_methods?|grant_types?|response_types?)$/i;

/** Logger options for a test server: a file when the run collects logs, else silence. */
export function testLogger(): false | { level: string; stream: fs.WriteStream } {
  if (!DIR) return false;
  return { level: 'info', stream: fs.createWriteStream(path.join(DIR, `server-${process.pid}.log`), { flags: 'a' }) };
}

export function noteSecret(value: unknown): void {
  if (!DIR || typeof value !== 'string' || value.length < 8) return;
  fs.appendFileSync(path.join(DIR, `secrets-${process.pid}.txt`), JSON.stringify(value) + '\n');
}

/** Notes the secret-looking fields of a request or response body (JSON object or form string). */
export function noteSecretsIn(body: unknown): void {
  if (!DIR || body === undefined || body === null) return;
  let obj: unknown = body;
  if (typeof body === 'string') {
    try {
      obj = JSON.parse(body);
    } catch {
      obj = Object.fromEntries(new URLSearchParams(body));
    }
  }
  const walk = (v: unknown, depth: number) => {
    if (depth > 4 || v === null || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      // `key` is also a configuration key's name: only a token-key-length value is a secret.
      if (SECRET_FIELD.test(k) && !PROTOCOL_WORD.test(k) && (k !== 'key' || (typeof x === 'string' && x.length >= 40))) noteSecret(x);
      walk(x, depth + 1);
    }
  };
  walk(obj, 0);
}

/**
 * Notes every secret that passes through a test server, whatever client the test used:
 * secret-looking body fields both ways, Authorization values and session cookies.
 */
export function noteSecretsPassingThrough(app: FastifyInstance): void {
  if (!DIR) return;
  app.addHook('preHandler', async (request) => {
    noteSecretsIn(request.body);
    const auth = request.headers.authorization;
    if (auth) {
      const [scheme, value = ''] = auth.split(' ', 2);
      if (scheme?.toLowerCase() === 'basic') {
        const decoded = Buffer.from(value, 'base64').toString('utf8');
        noteSecret(decoded.slice(decoded.indexOf(':') + 1));
      } else noteSecret(value);
    }
    noteSecret(request.cookies?.sessionid);
  });
  app.addHook('onSend', async (_request, _reply, payload) => {
    if (typeof payload === 'string') noteSecretsIn(payload);
    return payload;
  });
}
