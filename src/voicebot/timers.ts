/**
 * The conversation's timers (no input, inter-digit, barge-in resume, the end's wait), freezable
 * as one: while the client is paused (hold, secure pause) none of them runs, and each resumes with
 * the time it had left.
 */
export class CallTimers {
  private readonly timers = new Map<string, { fn: () => void; dueIn: number; armedAt: number; handle: NodeJS.Timeout | undefined }>();
  private frozen = false;

  constructor(private readonly now: () => number = Date.now) {}

  /** (Re)arms the timer `name`. */
  set(name: string, ms: number, fn: () => void): void {
    this.clear(name);
    const t = { fn, dueIn: ms, armedAt: this.now(), handle: undefined as NodeJS.Timeout | undefined };
    this.timers.set(name, t);
    if (!this.frozen) this.arm(name, t);
  }

  clear(name: string): void {
    const t = this.timers.get(name);
    if (!t) return;
    clearTimeout(t.handle);
    this.timers.delete(name);
  }

  has(name: string): boolean {
    return this.timers.has(name);
  }

  freeze(): void {
    if (this.frozen) return;
    this.frozen = true;
    const now = this.now();
    for (const t of this.timers.values()) {
      clearTimeout(t.handle);
      t.handle = undefined;
      t.dueIn = Math.max(0, t.dueIn - (now - t.armedAt));
    }
  }

  thaw(): void {
    if (!this.frozen) return;
    this.frozen = false;
    for (const [name, t] of this.timers) this.arm(name, t);
  }

  clearAll(): void {
    for (const t of this.timers.values()) clearTimeout(t.handle);
    this.timers.clear();
  }

  private arm(name: string, t: { fn: () => void; dueIn: number; armedAt: number; handle: NodeJS.Timeout | undefined }): void {
    t.armedAt = this.now();
    t.handle = setTimeout(() => {
      if (this.timers.get(name) !== t) return;
      this.timers.delete(name);
      t.fn();
    }, t.dueIn);
  }
}
