/**
 * The caller's side of the line: continuous real-time audio in 200 ms mono PCMU frames, as a phone
 * call never stops sending, with the script's WAV files mixed in where they play. Frame n is due
 * at start + n × 200 ms; a late tick sends everything due at once so the stream never slows down.
 *
 * A server `pause` stops the frames (the index runs on, so the gap declared in `resumed` is
 * exact), as the Genesys client does.
 */
import { encodeMulawSample } from '../../audio/mulaw.js';
import { formatDuration } from '../../protocol/duration.js';
import { SAMPLE_RATE } from '../../protocol/media.js';

export const FRAME_MS = 200;
export const FRAME_BYTES = (SAMPLE_RATE * FRAME_MS) / 1000; // 1600: mono PCMU

/** µ-law silence is 0xFF (0x00 is a loud negative peak). */
const SILENCE = Buffer.alloc(FRAME_BYTES, 0xff);

export interface CallerOptions {
  sendFrame(frame: Buffer): void;
  /** For `paused` / `resumed`. */
  send(type: 'paused' | 'resumed', parameters: object): void;
}

export interface Caller {
  start(now: number): void;
  /** Sends every frame due by `now`. */
  tick(now: number): void;
  /**
   * Mixes `pcm` (8 kHz mono) into the stream from the next frame on. Returns the wall-clock times
   * (same clock as `now`) at which it starts and ends.
   */
  play(pcm: Int16Array): { startMs: number; endMs: number };
  serverPause(): void;
  serverResume(): void;
  /** Stream position, seconds. */
  position(): number;
  readonly framesSent: number;
  /** Samples of caller audio (not silence) that went out. */
  readonly playedSamples: number;
}

interface Playing {
  pcm: Int16Array;
  /** Stream sample index of pcm[0]. */
  at: number;
}

export function createCaller(opts: CallerOptions): Caller {
  let startedAt = 0;
  let nextFrame = 0;
  let framesSent = 0;
  let playedSamples = 0;
  let paused = false;
  let pauseStart = 0;
  let playing: Playing[] = [];

  const position = (): number => (nextFrame * FRAME_MS) / 1000;

  /** One frame of the mix: silence unless something plays; overlapping sources add up (clipped). */
  const frameAt = (index: number): Buffer => {
    const from = index * FRAME_BYTES;
    const to = from + FRAME_BYTES;
    const active = playing.filter((p) => p.at < to && p.at + p.pcm.length > from);
    playing = playing.filter((p) => p.at + p.pcm.length > from);
    if (active.length === 0) return SILENCE;
    const mix = new Int32Array(FRAME_BYTES);
    for (const p of active) {
      const lo = Math.max(from, p.at);
      const hi = Math.min(to, p.at + p.pcm.length);
      for (let s = lo; s < hi; s++) mix[s - from] = (mix[s - from] as number) + (p.pcm[s - p.at] as number);
      playedSamples += hi - lo;
    }
    const out = Buffer.allocUnsafe(FRAME_BYTES);
    for (let i = 0; i < FRAME_BYTES; i++) {
      const v = mix[i] as number;
      out[i] = encodeMulawSample(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    }
    return out;
  };

  return {
    start(now) {
      startedAt = now;
    },
    tick(now) {
      // A frame leaves once its 200 ms have been captured, as from Genesys (not at their start).
      while (now >= startedAt + (nextFrame + 1) * FRAME_MS) {
        const frame = frameAt(nextFrame);
        if (!paused) {
          opts.sendFrame(frame);
          framesSent += 1;
        }
        nextFrame += 1;
      }
    },
    play(pcm) {
      // From the next frame whose capture has not begun (frame nextFrame is being captured now).
      const first = nextFrame + 1;
      playing.push({ pcm, at: first * FRAME_BYTES });
      const startMs = startedAt + first * FRAME_MS;
      return { startMs, endMs: startMs + (pcm.length / SAMPLE_RATE) * 1000 };
    },
    serverPause() {
      if (!paused) pauseStart = position();
      paused = true;
      opts.send('paused', {});
    },
    serverResume() {
      if (!paused) return;
      paused = false;
      opts.send('resumed', { start: formatDuration(pauseStart), discarded: formatDuration(position() - pauseStart) });
    },
    position,
    get framesSent() {
      return framesSent;
    },
    get playedSamples() {
      return playedSamples;
    },
  };
}
