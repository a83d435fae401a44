// What every command needs: the configuration and a prepared core over the configured store
// (and, with REDIS_URL, the channel to the other instances).
import { loadConfig, type Config } from '../config/env.ts';
import { openStore, type Store } from '../store/index.ts';
import { localBroadcast, redisBroadcast } from '../store/broadcast.ts';
import { createCore, type Core } from '../core/index.ts';
import { requestOrigin } from '../http/request-origin.ts';

export class UsageError extends Error {}

export interface OpenOptions {
  /** Called when Redis is unreachable (the instance goes on without it). */
  onSharedStateError?: (err: unknown) => void;
}

export async function openCore(config: Config = loadConfig(), opts: OpenOptions = {}): Promise<{ config: Config; store: Store; core: Core }> {
  const opened = openStore(config.databaseUrl);
  const broadcast = config.redisUrl
    ? redisBroadcast(config.redisUrl, { onError: opts.onSharedStateError ?? ((err) => console.error(`redis: ${(err as Error).message}`)) })
    : localBroadcast();
  const store: Store = {
    ...opened,
    close: async () => {
      await broadcast.close();
      await opened.close();
    },
  };
  const core = createCore({ store: opened, publicUrl: config.publicUrl, origin: requestOrigin, broadcast });
  await core.prepare();
  return { config, store, core };
}
