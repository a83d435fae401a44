// What every command needs: the configuration and a prepared core over the configured store
// (and, with REDIS_URL, the channel to the other instances).
import { loadConfig, type Config } from '../config/env.ts';
import { openStore, type Store } from '../store/index.ts';
import { localBroadcast, redisBroadcast } from '../store/broadcast.ts';
import { createCore, type Core } from '../core/index.ts';
import { requestOrigin } from '../http/request-origin.ts';
import { databaseCounters, redisCounters } from '../store/counters.ts';
import { outboxMailer, smtpMailer } from '../mail/transports.ts';
import { loadRedis } from '../optional-modules.ts';
import path from 'node:path';
import { secretKeysFor } from '../config/secret-keys.ts';
import { SecretBox } from '../core/secret-box.ts';

export class UsageError extends Error {}

export interface OpenOptions {
  /** Called when Redis is unreachable (the instance goes on without it). */
  onSharedStateError?: (err: unknown) => void;
  /** Where e-mail written to the outbox, and e-mail that failed after an answer, are reported. */
  log?: (level: 'info' | 'error', msg: string, meta: Record<string, unknown>) => void;
}

export async function openCore(config: Config = loadConfig(), opts: OpenOptions = {}): Promise<{ config: Config; store: Store; core: Core }> {
  const opened = openStore(config.databaseUrl);
  const broadcast = config.redisUrl
    ? redisBroadcast(config.redisUrl, { onError: opts.onSharedStateError ?? ((err) => console.error(`redis: ${(err as Error).message}`)) })
    : localBroadcast();
  const counterClient = config.redisUrl
    ? new (loadRedis())(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false }).on('error', (err) => (opts.onSharedStateError ?? (() => {}))(err))
    : undefined;
  const store: Store = {
    ...opened,
    close: async () => {
      counterClient?.disconnect();
      await broadcast.close();
      await opened.close();
    },
  };
  const log = opts.log ?? ((level, msg, meta) => (level === 'error' ? console.error : console.log)(msg, meta));
  const onRedisError = opts.onSharedStateError ?? ((err: unknown) => console.error(`redis: ${(err as Error).message}`));
  // Without Redis (and while it is down) the database keeps the counters: shared all the same.
  const counters = counterClient ? redisCounters(counterClient, onRedisError, databaseCounters(opened)) : undefined;
  const mailer = config.smtpUrl
    ? smtpMailer(config.smtpUrl, { from: config.mailFrom })
    : outboxMailer(path.join(config.dataDir, 'outbox'), { from: config.mailFrom, log: (msg, meta) => log('info', msg, meta) });
  // A throw-away database keeps nothing sealed across restarts, so neither does its key.
  const secretKeys = config.databaseUrl === 'sqlite::memory:' && !config.secretKeys ? undefined : secretKeysFor(config.secretKeys, config.dataDir);
  // The server logs it; a command says it on standard error, so its output (`export`) stays its own.
  if (secretKeys?.generated) {
    const notice = 'generated a secret key for sealed secrets (set LATCHKEY_SECRET_KEYS to share one across instances)';
    if (opts.log) opts.log('info', notice, { file: secretKeys.generated });
    else console.error(`${notice}: ${secretKeys.generated}`);
  }
  const core = createCore({
    secretBox: secretKeys ? new SecretBox(secretKeys.keys) : SecretBox.ephemeral(),
    store: opened, publicUrl: config.publicUrl, origin: requestOrigin, broadcast, counters, mailer,
    onBackgroundError: (err) => log('error', 'sending an e-mail failed', { err: (err as Error).message }),
  });
  await core.prepare();
  return { config, store, core };
}
