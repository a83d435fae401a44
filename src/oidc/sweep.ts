// Expired rows of oidc_payloads (codes, tokens, sessions, interactions past their expiry) are
// never read again; they are deleted by one indexed DELETE (expires_at) at most once a minute
// per instance, started by a write of the provider, off the request's path: no timer to stop,
// nothing to configure, and an instance nobody signs in to has nothing to sweep.
export class ExpirySweep {
  private last = 0;
  private running: Promise<void> | undefined;
  private readonly run: (now: number) => Promise<unknown>;
  private readonly everyMs: number;
  private readonly now: () => number;

  constructor(run: (now: number) => Promise<unknown>, opts: { everyMs?: number; now?: () => number } = {}) {
    this.run = run;
    this.everyMs = opts.everyMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Called on every write: starts a sweep when the last one began `everyMs` ago or more (the
   * first write after start sweeps what an earlier run left). Never fails its caller: a sweep
   * that fails is tried again at the next interval. Answers the sweep it started, if any.
   */
  poke(): Promise<void> | undefined {
    const t = this.now();
    if (this.running || t - this.last < this.everyMs) return undefined;
    this.last = t;
    const running = this.run(t).then(() => undefined, () => undefined).finally(() => {
      this.running = undefined;
    });
    this.running = running;
    return running;
  }
}
