/**
 * Per-session outbound rate limiter (protocol §7). Events wait in order behind a token bucket;
 * control messages (opened, pong, closed, disconnect …) never wait. A 429 holds the events only.
 * One timer per queue at most, armed for when the next event can go.
 */

export interface OutboundEvent {
  parameters: object;
  isFinal: boolean;
  coalesceKey?: string;
}

export interface OutboundQueueOptions {
  ratePerSecond: number;
  burst: number;
  /** Hard bound on queued events. */
  maxQueued: number;
  /** Hold used when a 429 has no usable retryAfter. */
  defaultRetryAfterMs: number;
  /** Writes the message; the session assigns seq at this moment. Must not throw. */
  send(type: 'event' | string, parameters: object): void;
  /** Finals alone filled the queue: the session disconnects with an error (called once). */
  onOverflow(queued: number): void;
  /** A queued interim was replaced by a newer hypothesis or its final, or shed (for metrics). */
  onCoalesced?(): void;
}

interface Entry {
  parameters: object;
  isFinal: boolean;
  coalesceKey: string | undefined;
  /** False once superseded by a final or dropped by the overflow policy. */
  live: boolean;
}

interface DrainWaiter {
  sentAtStart: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  resolve(result: { delivered: number; undelivered: number }): void;
}

/** Float slack so 0.9999999 tokens after an exact-delay timer still counts as one. */
const EPSILON = 1e-9;
/** After an overflow, interims are refused until the queue is back under this fraction. */
const SHED_UNTIL_BELOW = 0.8;

export class OutboundQueue {
  private readonly opts: OutboundQueueOptions;
  private tokens: number;
  private lastRefill: number;
  private holdUntil = 0;
  /** A hold was set: when it ends the bucket restarts at one token. */
  private holdPending = false;

  /** FIFO with a moving head; dead entries are skipped when reached. */
  private items: (Entry | undefined)[] = [];
  private head = 0;
  private live = 0;
  /** Queued interims by coalesce key (at most one each, thanks to coalescing). */
  private readonly interimByKey = new Map<string, Entry>();

  private sent = 0;
  private droppedInterimCount = 0;
  private shedding = false;
  private overflowReported = false;
  private disabled = false;
  private disposed = false;

  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerDue = 0;
  private readonly waiters: DrainWaiter[] = [];

  constructor(options: OutboundQueueOptions) {
    if (!(options.ratePerSecond > 0) || !Number.isFinite(options.ratePerSecond)) {
      throw new Error(`invalid ratePerSecond ${options.ratePerSecond}`);
    }
    if (!(options.burst >= 1)) throw new Error(`invalid burst ${options.burst}`);
    if (!(options.maxQueued >= 1)) throw new Error(`invalid maxQueued ${options.maxQueued}`);
    this.opts = options;
    this.tokens = options.burst;
    this.lastRefill = Date.now();
  }

  get queued(): number {
    return this.live;
  }

  get sentEvents(): number {
    return this.sent;
  }

  /** Interims dropped by the overflow policy (superseded hypotheses), for logging. */
  get droppedInterims(): number {
    return this.droppedInterimCount;
  }

  /** Sent at once, never behind events or a 429 hold; uses a token only if one is spare. */
  sendControl(type: string, parameters: object): void {
    this.refill(Date.now());
    if (this.tokens >= 1 - EPSILON) this.tokens -= 1;
    this.opts.send(type, parameters);
  }

  /**
   * An event that must not wait (a voice bot's `barge_in`): sent at once, ahead of anything
   * queued, taking a token when there is one so the queue behind it still keeps the rate.
   */
  sendNow(parameters: object): void {
    if (this.disabled || this.disposed) return;
    this.refill(Date.now());
    if (this.tokens >= 1 - EPSILON) this.tokens -= 1;
    this.emit(parameters);
  }

  enqueueEvent(event: OutboundEvent): void {
    if (this.disabled || this.disposed) return;
    const key = event.coalesceKey;

    if (key !== undefined) {
      const pending = this.interimByKey.get(key);
      if (pending) {
        if (!event.isFinal) {
          // Newer hypothesis of the same utterance: replace in place, keep its turn.
          pending.parameters = event.parameters;
          this.opts.onCoalesced?.();
          return;
        }
        // The final supersedes its queued interims.
        this.kill(pending);
        this.interimByKey.delete(key);
        this.opts.onCoalesced?.();
      }
    }
    if (!event.isFinal && this.shedding) {
      this.shed();
      return;
    }

    const now = Date.now();
    this.refill(now);
    if (this.live === 0 && now >= this.holdUntil && this.tokens >= 1 - EPSILON) {
      this.tokens -= 1;
      this.emit(event.parameters);
      return;
    }

    let overflow = false;
    if (this.live >= this.opts.maxQueued) {
      this.dropQueuedInterims();
      this.shedding = this.live >= this.opts.maxQueued * SHED_UNTIL_BELOW;
      if (!event.isFinal && this.shedding) {
        this.shed();
        return;
      }
      overflow = this.live >= this.opts.maxQueued && !this.overflowReported;
    }

    const entry: Entry = { parameters: event.parameters, isFinal: event.isFinal, coalesceKey: key, live: true };
    this.items.push(entry);
    this.live++;
    if (!event.isFinal && key !== undefined) this.interimByKey.set(key, entry);
    this.schedule(now);
    // Reported after the event is queued, so whatever the handler does (the session disables
    // events and counts what was queued) covers this event too.
    if (overflow) {
      this.overflowReported = true;
      this.opts.onOverflow(this.live);
    }
  }

  /** A 429: hold events for `ms` (never shortens a longer hold). Missing/invalid → the default.
   * Returns how much longer events are now held than they already were. */
  holdFor(ms?: number): number {
    const hold = ms === undefined || !Number.isFinite(ms) || ms < 0 ? this.opts.defaultRetryAfterMs : ms;
    const now = Date.now();
    const until = now + hold;
    if (until <= this.holdUntil) return 0;
    const added = until - Math.max(now, this.holdUntil);
    this.refill(now);
    this.holdUntil = until;
    this.holdPending = true;
    this.tokens = 0;
    this.lastRefill = now;
    if (!this.disposed) this.schedule(now);
    return added;
  }

  /** The client refuses events: drop what is queued, refuse the rest. Returns how many were dropped. */
  disableEvents(): number {
    const dropped = this.live;
    this.disabled = true;
    this.clearQueue();
    this.clearTimer();
    this.finishWaiters(dropped);
    return dropped;
  }

  /** Resolves once the queue is empty, or after `timeoutMs` with what is still queued. */
  drain(timeoutMs: number): Promise<{ delivered: number; undelivered: number }> {
    if (this.live === 0 || this.disposed) {
      return Promise.resolve({ delivered: 0, undelivered: this.live });
    }
    return new Promise((resolve) => {
      const waiter: DrainWaiter = { sentAtStart: this.sent, timer: undefined, resolve };
      waiter.timer = setTimeout(() => {
        waiter.timer = undefined;
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve({ delivered: this.sent - waiter.sentAtStart, undelivered: this.live });
      }, Math.max(0, timeoutMs));
      this.waiters.push(waiter);
    });
  }

  /** Stops all timers. Pending drains resolve with what is left so no caller hangs. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.clearTimer();
    this.finishWaiters(this.live);
  }

  private refill(now: number): void {
    if (now < this.holdUntil) return; // no tokens accrue during a 429 hold
    if (this.holdPending) {
      // Restart nearly empty so we don't burst straight back into another 429.
      this.holdPending = false;
      this.tokens = 1;
      this.lastRefill = this.holdUntil;
    }
    const elapsed = now - this.lastRefill;
    if (elapsed > 0) {
      const t = this.tokens + (elapsed * this.opts.ratePerSecond) / 1000;
      this.tokens = t > this.opts.burst ? this.opts.burst : t;
      this.lastRefill = now;
    }
  }

  private pump(): void {
    const now = Date.now();
    this.refill(now);
    while (this.live > 0 && now >= this.holdUntil && this.tokens >= 1 - EPSILON && !this.disabled) {
      const entry = this.items[this.head];
      this.items[this.head] = undefined; // release for GC
      this.head++;
      if (!entry?.live) continue;
      entry.live = false;
      this.live--;
      if (entry.coalesceKey !== undefined && this.interimByKey.get(entry.coalesceKey) === entry) {
        this.interimByKey.delete(entry.coalesceKey);
      }
      this.tokens -= 1;
      this.emit(entry.parameters);
    }
    this.compact();
    if (this.shedding && this.live < this.opts.maxQueued * SHED_UNTIL_BELOW) this.shedding = false;
    if (this.live === 0) this.finishWaiters(0);
    this.schedule(now);
  }

  private emit(parameters: object): void {
    this.sent++;
    this.opts.send('event', parameters);
  }

  private schedule(now: number): void {
    if (this.live === 0 || this.disabled || this.disposed) {
      this.clearTimer();
      return;
    }
    const due =
      now < this.holdUntil
        ? this.holdUntil
        : now + Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.opts.ratePerSecond));
    // An earlier timer re-evaluates and re-arms when it fires; keep it.
    if (this.timer !== undefined && this.timerDue <= due) return;
    this.clearTimer();
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, due - now);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private shed(): void {
    this.droppedInterimCount++;
    this.opts.onCoalesced?.();
  }

  private kill(entry: Entry): void {
    if (!entry.live) return;
    entry.live = false;
    this.live--;
  }

  private dropQueuedInterims(): void {
    const kept: Entry[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const e = this.items[i];
      if (!e?.live) continue;
      if (e.isFinal) kept.push(e);
      else {
        e.live = false;
        this.live--;
        this.shed();
      }
    }
    this.items = kept;
    this.head = 0;
    this.interimByKey.clear();
  }

  private clearQueue(): void {
    for (let i = this.head; i < this.items.length; i++) {
      const e = this.items[i];
      if (e) e.live = false;
    }
    this.items = [];
    this.head = 0;
    this.live = 0;
    this.interimByKey.clear();
  }

  /** Drops the consumed prefix once it dominates the array, so memory stays bounded. */
  private compact(): void {
    if (this.live === 0) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  private finishWaiters(undelivered: number): void {
    if (this.waiters.length === 0) return;
    for (const w of this.waiters.splice(0)) {
      if (w.timer !== undefined) clearTimeout(w.timer);
      w.resolve({ delivered: this.sent - w.sentAtStart, undelivered });
    }
  }
}
