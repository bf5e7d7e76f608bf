/**
 * The bot's audio into the call: raw PCMU 8 kHz mono in fixed 200 ms frames (1,600 bytes, the
 * last of a prompt padded with µ-law silence 0xFF — 0x00 is full-scale noise in µ-law), paced in
 * real time a few frames ahead of what the caller hears, and within a token bucket of its own
 * (Genesys counts binary messages apart from events: 5 a second, bursts of 25).
 *
 * Pacing follows the caller's play-out clock rather than a timer chain: Genesys plays each frame
 * from its arrival, so `playEnd = max(playEnd, now) + 200 ms` per frame is where the caller's
 * buffer ends, and the next frame goes when less than `leadFrames` are buffered. Timers are armed
 * for absolute times, so late timers never add up to drift, and an underrun (synthesis slower
 * than real time, a hold) restarts the clock by itself.
 */

export const FRAME_BYTES = 1600;
export const FRAME_MS = 200;
/** µ-law silence. */
export const MULAW_SILENCE = 0xff;

export interface PlayerOptions {
  leadFrames: number;
  perSecond: number;
  burst: number;
  /** Writes one binary frame to the socket. */
  send(frame: Uint8Array): void;
  /** A prompt's first frame left (for the turn latency). */
  onPromptStarted?(prompt: Prompt): void;
  /** Nothing is queued and, by our clock, the caller has heard the last frame sent. */
  onIdle?(): void;
  now?: () => number;
}

export interface Prompt {
  readonly id: number;
  /** Milliseconds of this prompt's audio sent so far. */
  readonly sentMs: number;
  /** Whether its first frame was sent. */
  readonly started: boolean;
  /** Audio of the prompt, µ-law, any chunk size, in order. */
  write(mulaw: Uint8Array): void;
  /** No more audio: the remainder is padded to a whole frame. */
  end(): void;
}

type SuspendReason = 'paused' | 'barge-in';

interface QueuedPrompt extends Prompt {
  chunks: Uint8Array[];
  /** Bytes in `chunks` (the first chunk from `offset`). */
  bytes: number;
  offset: number;
  ended: boolean;
  sentFrames: number;
}

export class BotAudioPlayer {
  private readonly queue: QueuedPrompt[] = [];
  private nextId = 1;
  private playEnd = 0;
  private tokens: number;
  private lastRefill: number;
  private holdUntil = 0;
  private readonly suspended = new Set<SuspendReason>();
  private timer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private disposed = false;
  /** The prompt of the last frame sent (what the caller is hearing now). */
  private lastSent: Prompt | undefined;
  /** Frames sent over the session, and frames that had to wait for a token. */
  framesSent = 0;
  private readonly now: () => number;

  constructor(private readonly o: PlayerOptions) {
    this.now = o.now ?? Date.now;
    this.tokens = o.burst;
    this.lastRefill = this.now();
  }

  /** A new prompt, played after what is queued. */
  start(): Prompt {
    const player = this;
    const prompt: QueuedPrompt = {
      id: this.nextId++,
      chunks: [],
      bytes: 0,
      offset: 0,
      ended: false,
      sentFrames: 0,
      get sentMs() {
        return this.sentFrames * FRAME_MS;
      },
      get started() {
        return this.sentFrames > 0;
      },
      write(mulaw) {
        if (this.ended || mulaw.byteLength === 0 || !player.queue.includes(this)) return;
        this.chunks.push(mulaw);
        this.bytes += mulaw.byteLength;
        if (this.bytes >= FRAME_BYTES) player.pump();
      },
      end() {
        if (this.ended) return;
        this.ended = true;
        player.pump();
      },
    };
    this.queue.push(prompt);
    clearTimeout(this.idleTimer);
    return prompt;
  }

  /** Audio queued or still playing at the caller. */
  get busy(): boolean {
    return this.queue.length > 0 || this.bufferedMs() > 0;
  }

  /** Frames still to send (synthesized or on their way). */
  get hasQueued(): boolean {
    return this.queue.length > 0;
  }

  /** How much of `prompt` the caller has heard by our clock (frames sent less what is still buffered). */
  heardMs(prompt: Prompt): number {
    if (prompt !== this.lastSent) return prompt.sentMs;
    return Math.max(0, prompt.sentMs - this.bufferedMs());
  }

  /** Stop sending (the client paused; a barge-in is being confirmed). Frames already sent play on. */
  suspend(why: SuspendReason): void {
    this.suspended.add(why);
    clearTimeout(this.timer);
    this.timer = undefined;
    clearTimeout(this.idleTimer);
  }

  resume(why: SuspendReason): void {
    if (!this.suspended.delete(why)) return;
    this.pump();
  }

  /** A 429 from the client: no frame for `ms` (never shortens a longer hold). */
  holdFor(ms: number): void {
    const until = this.now() + ms;
    if (until <= this.holdUntil) return;
    this.holdUntil = until;
    this.tokens = 0;
    this.lastRefill = until;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pump();
  }

  /** Drops every queued prompt (a barge-in, the end). What was sent plays out at the client. */
  stop(): void {
    this.queue.length = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armIdle();
  }

  dispose(): void {
    this.disposed = true;
    this.queue.length = 0;
    clearTimeout(this.timer);
    clearTimeout(this.idleTimer);
  }

  private bufferedMs(): number {
    return Math.max(0, this.playEnd - this.now());
  }

  /** Sends what is due, then arms one timer for the next due frame. */
  private pump(): void {
    if (this.disposed || this.suspended.size > 0) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (;;) {
      const prompt = this.queue[0];
      if (!prompt) return this.armIdle();
      if (prompt.bytes < FRAME_BYTES && !prompt.ended) return; // waits for synthesis (write/end pump again)
      if (prompt.bytes === 0) {
        this.queue.shift();
        continue;
      }
      const now = this.now();
      const wait = this.waitMs(now);
      if (wait > 0) {
        this.timer = setTimeout(() => this.pump(), wait);
        return;
      }
      this.tokens -= 1;
      this.playEnd = Math.max(this.playEnd, now) + FRAME_MS;
      const frame = takeFrame(prompt);
      prompt.sentFrames += 1;
      this.lastSent = prompt;
      this.framesSent += 1;
      if (prompt.sentFrames === 1) this.o.onPromptStarted?.(prompt);
      if (prompt.ended && prompt.bytes === 0) this.queue.shift();
      this.o.send(frame);
    }
  }

  /** Milliseconds until the next frame may go: the lead, the 429 hold, the token bucket. */
  private waitMs(now: number): number {
    const leadWait = this.playEnd - now - (this.o.leadFrames - 1) * FRAME_MS;
    const holdWait = this.holdUntil - now;
    if (now > this.lastRefill) {
      this.tokens = Math.min(this.o.burst, this.tokens + ((now - this.lastRefill) * this.o.perSecond) / 1000);
      this.lastRefill = now;
    }
    const tokenWait = this.tokens >= 1 - 1e-9 ? 0 : ((1 - this.tokens) * 1000) / this.o.perSecond;
    return Math.ceil(Math.max(leadWait, holdWait, tokenWait, 0));
  }

  /** When nothing is left to send: tell the conversation once the caller has heard it all. */
  private armIdle(): void {
    clearTimeout(this.idleTimer);
    if (this.disposed || this.queue.length > 0 || this.suspended.size > 0) return;
    this.idleTimer = setTimeout(() => {
      if (this.queue.length === 0 && !this.disposed) this.o.onIdle?.();
    }, this.bufferedMs());
  }
}

/** The next 1,600 bytes of the prompt, padded with µ-law silence at its end. */
function takeFrame(prompt: QueuedPrompt): Uint8Array {
  const frame = new Uint8Array(FRAME_BYTES);
  let filled = 0;
  while (filled < FRAME_BYTES && prompt.chunks.length > 0) {
    const chunk = prompt.chunks[0]!;
    const n = Math.min(FRAME_BYTES - filled, chunk.byteLength - prompt.offset);
    frame.set(chunk.subarray(prompt.offset, prompt.offset + n), filled);
    filled += n;
    prompt.offset += n;
    prompt.bytes -= n;
    if (prompt.offset === chunk.byteLength) {
      prompt.chunks.shift();
      prompt.offset = 0;
    }
  }
  if (filled < FRAME_BYTES) frame.fill(MULAW_SILENCE, filled);
  return frame;
}
