// What every command needs: the configuration and a prepared core over the configured store.
import { loadConfig, type Config } from '../config/env.ts';
import { openStore, type Store } from '../store/index.ts';
import { createCore, type Core } from '../core/index.ts';
import { requestOrigin } from '../http/request-origin.ts';

export class UsageError extends Error {}

export async function openCore(config: Config = loadConfig()): Promise<{ config: Config; store: Store; core: Core }> {
  const store = openStore(config.databaseUrl);
  const core = createCore({ store, publicUrl: config.publicUrl, origin: requestOrigin });
  await core.prepare();
  return { config, store, core };
}
