// A rolling rate limit over the shared counters: at most `limit` events per `windowSeconds`
// for one key. The window is cut into SLICES buckets, one counter each (keyed by the bucket's
// number, so every instance counts into the same ones); the count is the sum of the last
// buckets. An event counts from its bucket until that bucket leaves the window, so:
// - 'heals' (failed sign-ins per address): the last SLICES buckets; an event counts for
//   between (SLICES-1)/SLICES of the window and the whole window, never longer, so a tripped
//   key is free again at most one window after it tripped;
// - 'strict' (e-mails per address): one bucket more; an event counts for at least the whole
//   window, so no window of that length ever holds more than `limit` events.
import type { Counters } from '../counters/counters.ts';
import type { Clock } from '../clock.ts';

const SLICES = 6;

export type RollingMode = 'heals' | 'strict';

export class RollingLimit {
  private readonly counters: Counters;
  private readonly clock: Clock;

  constructor(counters: Counters, clock: Clock) {
    this.counters = counters;
    this.clock = clock;
  }

  private buckets(key: string, windowSeconds: number, mode: RollingMode) {
    const slice = (windowSeconds * 1000) / SLICES;
    const span = mode === 'strict' ? SLICES + 1 : SLICES;
    const now = this.clock.now();
    const current = Math.floor(now / slice);
    const numbers = Array.from({ length: span }, (_, i) => current - span + 1 + i);
    return { slice, span, now, current, numbers, keys: numbers.map((n) => `${key}:${n}`) };
  }

  /**
   * Whether one more event is allowed now; when not, the seconds until it is (the oldest
   * buckets leaving the window bring the count under the limit).
   */
  async check(key: string, limit: number, windowSeconds: number, mode: RollingMode): Promise<{ allowed: true } | { allowed: false; retryAfter: number }> {
    const b = this.buckets(key, windowSeconds, mode);
    const counts = await this.counters.counts(b.keys);
    let total = counts.reduce((a, c) => a + c, 0);
    if (total < limit) return { allowed: true };
    for (let i = 0; i < counts.length; i++) {
      total -= counts[i]!;
      if (total < limit) {
        const freeAt = (b.numbers[i]! + b.span) * b.slice;
        return { allowed: false, retryAfter: Math.max(Math.ceil((freeAt - b.now) / 1000), 1) };
      }
    }
    return { allowed: false, retryAfter: Math.ceil(windowSeconds) };
  }

  /** Counts one event now. */
  async hit(key: string, windowSeconds: number, mode: RollingMode): Promise<void> {
    const b = this.buckets(key, windowSeconds, mode);
    // Kept a little past the last moment it is read.
    await this.counters.incr(b.keys[b.keys.length - 1]!, Math.ceil(((b.span + 1) * b.slice) / 1000));
  }
}
