// The core's Broadcast (core/broadcast.ts) across instances, through Redis pub/sub when
// REDIS_URL is set.
import { loadRedis } from '../optional-modules.ts';
import type { Broadcast, BroadcastHandler } from '../core/broadcast.ts';

export type { Broadcast, BroadcastHandler };
export { localBroadcast } from '../core/broadcast.ts';

const CHANNEL = 'latchkey:invalidate';

export interface RedisBroadcastOptions {
  onError?: (err: unknown) => void;
}

/** Across instances through one Redis channel. A lost Redis is logged, never fatal. */
export function redisBroadcast(url: string, opts: RedisBroadcastOptions = {}): Broadcast {
  const onError = opts.onError ?? (() => {});
  const common = { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: (n: number) => Math.min(n * 200, 2000) };
  const Redis = loadRedis();
  const pub = new Redis(url, common);
  const sub = new Redis(url, common);
  pub.on('error', onError);
  sub.on('error', onError);
  const handlers: BroadcastHandler[] = [];
  // Without the offline queue a command sent before the connection is up fails at once ("Stream
  // isn't writeable"): subscribing here at start did, so no instance ever heard another. Subscribe
  // each time the connection is (again) ready; a repeated SUBSCRIBE is harmless.
  sub.on('ready', () => void sub.subscribe(CHANNEL).catch(onError));
  // A publish just after start (the CLI's `keys rotate`) waits, briefly, for the first connection.
  const firstConnection = new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, 2000);
    timer.unref();
    pub.once('ready', done);
    pub.once('error', done);
  });
  sub.on('message', (_channel: string, message: string) => {
    const sep = message.indexOf('\n');
    const topic = sep < 0 ? message : message.slice(0, sep);
    const payload = sep < 0 ? '' : message.slice(sep + 1);
    for (const h of handlers) h(topic, payload);
  });
  return {
    async publish(topic, payload = '') {
      // This instance acts at once; the others hear it through Redis (ours hears it twice: harmless).
      for (const h of handlers) h(topic, payload);
      try {
        if (pub.status !== 'ready') await firstConnection;
        await pub.publish(CHANNEL, `${topic}\n${payload}`);
      } catch (err) {
        onError(err);
      }
    },
    subscribe: (h) => void handlers.push(h),
    async close() {
      pub.disconnect();
      sub.disconnect();
    },
  };
}
