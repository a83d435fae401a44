// Telling the other instances that something cached has changed (signing keys rotated, a
// tenant, client or setting edited). The core needs only `Broadcast`; across instances it is
// Redis pub/sub (src/store/broadcast.ts), chosen by the composition root. Without Redis there
// are no other instances to tell, or they notice within their cache time.

export type BroadcastHandler = (topic: string, payload: string) => void;

export interface Broadcast {
  publish(topic: string, payload?: string): Promise<void>;
  subscribe(handler: BroadcastHandler): void;
  close(): Promise<void>;
}

/** Within one process: handlers run at once. */
export function localBroadcast(): Broadcast {
  const handlers: BroadcastHandler[] = [];
  return {
    async publish(topic, payload = '') {
      for (const h of handlers) h(topic, payload);
    },
    subscribe: (h) => void handlers.push(h),
    close: async () => {},
  };
}
