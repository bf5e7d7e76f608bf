/**
 * The bot's audio as the caller hears it. Genesys plays each frame in real time from its arrival,
 * so a play-out clock (playEnd = max(playEnd, arrival) + frame duration) says when the audio sent
 * so far will have been heard. From it:
 *
 * - playback events, as Genesys sends them: `playback_started` when audio starts playing from
 *   idle, `playback_completed` once everything received has played out (plus a small jitter
 *   allowance) and nothing more came. They always come in pairs: a server that lets the player
 *   run dry mid-prompt gets a completed/started pair there (and an underrun in the report);
 * - prompts, for the output and the script: a prompt starts with audio after ≥ PROMPT_GAP_MS of
 *   none and ends when nothing has played for PROMPT_GAP_MS after its last frame's play-out;
 * - the recording: every byte at its play-out position on the call's timeline, silence between;
 * - `flush` (the server's `barge_in`): what is buffered but not yet played is dropped, as the
 *   Genesys player stops playing.
 */
import { SAMPLE_RATE } from '../../protocol/media.js';
import type { FrameChecker } from './frame-check.js';

/** Silence that separates two prompts (and ends one). */
export const PROMPT_GAP_MS = 600;
/** A frame this late after the player ran dry still counts as on time (network and timer jitter). */
export const PLAYOUT_JITTER_MS = 60;

export interface Prompt {
  index: number;
  /** Arrival of its first frame (wall clock, ms). */
  startAt: number;
  /** Play-out end of its last frame so far (wall clock, ms). */
  playEnd: number;
  /** When the tracker saw it end (playEnd + PROMPT_GAP_MS), or undefined while it lasts. */
  endedAt?: number;
  frames: number;
  bytes: number;
  /** Audio dropped by barge-in flushes, ms. */
  flushedMs: number;
}

export interface TrackerOptions {
  /** Start of the call's timeline (wall clock, ms): recording offset 0. */
  t0: number;
  playbackEvents: boolean;
  send(type: 'playback_started' | 'playback_completed'): void;
  checker: FrameChecker;
  /** Prompt boundaries and findings, for the output. `at` is wall-clock ms. */
  onPromptStart(p: Prompt): void;
  onPromptEnd(p: Prompt): void;
  onPlayback(type: 'playback_started' | 'playback_completed', at: number): void;
  onFinding(text: string, at: number, prompt: number): void;
}

export interface PlayerTracker {
  frame(data: Uint8Array, now: number): void;
  tick(now: number): void;
  /** The call is ending: the prompt under way (if any) ends now, so it is reported. */
  end(now: number): void;
  /** Drops audio not yet played (barge-in). Returns the ms dropped. */
  flush(now: number): number;
  readonly prompts: readonly Prompt[];
  /** The prompt playing or still within its end gap. */
  current(): Prompt | undefined;
  /** Bot audio received and not yet played out at `now`, ms. */
  unplayedMs(now: number): number;
  /** The bot's audio on the call timeline, µ-law, from t0 to the last play-out. */
  recording(): Uint8Array;
  readonly stats: { frames: number; bytes: number; underruns: number };
}

const msOf = (bytes: number): number => (bytes / SAMPLE_RATE) * 1000;

export function createPlayerTracker(opts: TrackerOptions): PlayerTracker {
  const prompts: Prompt[] = [];
  const stats = { frames: 0, bytes: 0, underruns: 0 };
  let playEnd = -Infinity;
  let playing = false;
  let rec = new Uint8Array(SAMPLE_RATE * 10).fill(0xff);
  let recEnd = 0;

  const current = (): Prompt | undefined => {
    const p = prompts[prompts.length - 1];
    return p && p.endedAt === undefined ? p : undefined;
  };

  const settle = (now: number): void => {
    if (playing && now >= playEnd + PLAYOUT_JITTER_MS) {
      playing = false;
      // Stamped at the true play-out end: the tick that notices it may be a little later.
      if (opts.playbackEvents) opts.send('playback_completed');
      opts.onPlayback('playback_completed', Math.max(playEnd, 0));
    }
    const p = current();
    if (p && now >= p.playEnd + PROMPT_GAP_MS) {
      p.endedAt = now;
      opts.onPromptEnd(p);
    }
  };

  const record = (data: Uint8Array, atMs: number): void => {
    const from = Math.max(0, Math.round(((atMs - opts.t0) / 1000) * SAMPLE_RATE));
    const to = from + data.length;
    if (to > rec.length) {
      const bigger = new Uint8Array(Math.max(to, rec.length * 2)).fill(0xff);
      bigger.set(rec.subarray(0, recEnd));
      rec = bigger;
    }
    rec.set(data, from);
    recEnd = Math.max(recEnd, to);
  };

  return {
    frame(data, now) {
      settle(now);
      stats.frames += 1;
      stats.bytes += data.length;
      let p = current();
      const first = p === undefined;
      if (!p) {
        p = { index: prompts.length + 1, startAt: now, playEnd: now, frames: 0, bytes: 0, flushedMs: 0 };
        prompts.push(p);
        opts.onPromptStart(p);
      } else if (now > playEnd + PLAYOUT_JITTER_MS) {
        stats.underruns += 1;
      }
      p.frames += 1;
      p.bytes += data.length;
      const startsAt = Math.max(playEnd, now);
      playEnd = startsAt + msOf(data.length);
      p.playEnd = playEnd;
      record(data, startsAt);
      if (!playing) {
        playing = true;
        if (opts.playbackEvents) opts.send('playback_started');
        opts.onPlayback('playback_started', now);
      }
      const ctx = { prompt: p.index, firstOfPrompt: first, promptAudioMs: msOf(p.bytes) - p.flushedMs, promptStartedAt: p.startAt };
      for (const text of opts.checker.check(data, now, ctx)) opts.onFinding(text, now, p.index);
    },
    tick: settle,
    end(now) {
      const p = current();
      if (!p) return;
      p.endedAt = now;
      opts.onPromptEnd(p);
    },
    flush(now) {
      if (playEnd <= now) return 0;
      const dropped = playEnd - now;
      const from = Math.max(0, Math.round(((now - opts.t0) / 1000) * SAMPLE_RATE));
      if (from < recEnd) rec.fill(0xff, from, recEnd);
      recEnd = Math.min(recEnd, from);
      playEnd = now;
      const p = current();
      if (p) {
        p.playEnd = now;
        p.flushedMs += dropped;
      }
      return dropped;
    },
    prompts,
    current,
    unplayedMs: (now) => Math.max(0, playEnd - now),
    recording: () => rec.slice(0, recEnd),
    stats,
  };
}
