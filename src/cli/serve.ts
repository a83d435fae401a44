import { parseArgs } from 'node:util';
import { loadConfig } from '../config/env.ts';
import { buildServer } from '../http/server.ts';
import { openCore } from './context.ts';

export const help = `Usage: latchkey serve [--host HOST] [--port PORT]

Runs the HTTP server. Migrates the database first, creates the default tenant and the signing
keys if missing, and the bootstrap superuser when LATCHKEY_BOOTSTRAP_ADMIN_* are set.
Settings come from the environment (see the README); --host and --port override HOST and PORT.
Stops cleanly on SIGTERM or SIGINT: in-flight requests finish, then it exits 0.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { host: { type: 'string' }, port: { type: 'string' } }, strict: true });
  const env = { ...process.env };
  if (values.host) env.HOST = values.host;
  if (values.port) env.PORT = values.port;
  // Until the server's logger exists, Redis trouble goes to stderr.
  let sharedStateError = (err: unknown) => console.error(`redis: ${(err as Error).message}`);
  let log = (level: 'info' | 'error', msg: string, meta: Record<string, unknown>) => (level === 'error' ? console.error : console.log)(msg, meta);
  const { config, store, core } = await openCore(loadConfig(env), { onSharedStateError: (err) => sharedStateError(err), log: (l, m, x) => log(l, m, x) });
  const app = await buildServer({
    core,
    publicUrl: config.publicUrl,
    trustProxy: config.trustProxy,
    csrfTrustedOrigins: config.csrfTrustedOrigins,
    logger: {
      level: config.logLevel,
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'], censor: '[redacted]' },
    },
  });
  log = (level, msg, meta) => app.log[level](meta, msg);
  let lastRedisWarning = 0;
  sharedStateError = (err) => {
    // Reconnect attempts fail every few seconds while Redis is down: one line per 10 s is enough.
    if (Date.now() - lastRedisWarning < 10_000) return;
    lastRedisWarning = Date.now();
    app.log.warn({ err: (err as Error).message }, 'redis unavailable: caches fall back to their expiry on this instance');
  };
  core.events.onError = (err, event) => app.log.error({ err, event: event.type }, 'security event listener failed');
  if (config.bootstrapAdmin) {
    const outcome = await core.bootstrapAdmin(config.bootstrapAdmin);
    app.log.info({ username: config.bootstrapAdmin.username, outcome }, 'bootstrap superuser');
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    await app.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  await app.listen({ host: config.host, port: config.port });
  return -1; // keeps running
}
