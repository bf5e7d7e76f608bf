/**
 * Audio for long calls, made as it is streamed: a conversation laid out as metadata (which
 * tone-coded words, on which channel, at which millisecond), rendered a few seconds at a time
 * into stereo PCMU frames. Two hours of stereo PCM16 would be 230 MB held by the test process,
 * whose memory the long-call test measures; the layout itself is a few thousand numbers.
 */
import { performance } from 'node:perf_hooks';
import type { EngineStream, SpeechEngine } from '../../src/engines/types.js';
import type { FakeGoogleSpeech } from '../../src/testing/fake-google-speech/server.js';
import { WORDS, synthesizeWords } from '../../src/testing/fake-google-speech/vocabulary.js';
import { pcmuFrames, sleep, type TestClient } from './harness.js';

export const RATE = 8000;
export const FRAME_MS = 200;

export interface PlacedUtterance {
  channel: 0 | 1;
  words: string[];
  /** Where the first word's tone starts / the last one's ends, in ms of audio sent (holds not counted). */
  startMs: number;
  endMs: number;
}

/** Length of a synthesized utterance of `n` words (vocabulary.ts defaults: 240 ms tones, 120 ms gaps). */
export function utteranceMs(n: number): number {
  return 240 * n + 120 * (n - 1);
}

/** Deterministic PRNG (mulberry32): the same call layout on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ConversationOptions {
  fromMs: number;
  /** No utterance ends after this. */
  toMs: number;
  random: () => number;
  /** Next vocabulary index per channel (advanced as words are used), so words cycle through the vocabulary. */
  next: [number, number];
}

/**
 * A realistic stretch of a call: speaker turns of 1–4 utterances (1–6 words, 0.9–2 s apart),
 * the other side sometimes saying one word during a turn, silences of 1–25 s between turns and
 * now and then a long one (1–4 min: the agent looking something up). Mostly silence.
 */
export function conversation(o: ConversationOptions): PlacedUtterance[] {
  const out: PlacedUtterance[] = [];
  const r = o.random;
  const between = (lo: number, hi: number) => Math.round(lo + r() * (hi - lo));
  const take = (ch: 0 | 1, n: number) => Array.from({ length: n }, () => WORDS[o.next[ch]++ % WORDS.length]!);
  let t = o.fromMs;
  let speaker: 0 | 1 = 0;
  for (;;) {
    const turn = between(1, 4);
    const turnStart = t;
    const placed: PlacedUtterance[] = [];
    for (let u = 0; u < turn; u++) {
      const n = r() < 0.7 ? between(1, 3) : between(4, 6);
      const end = t + utteranceMs(n);
      if (end > o.toMs) break;
      placed.push({ channel: speaker, words: take(speaker, n), startMs: t, endMs: end });
      t = end + between(900, 2000);
    }
    if (placed.length === 0) break;
    const turnEnd = placed[placed.length - 1]!.endMs;
    // A backchannel from the other side, overlapping the turn ("kilo" while the caller talks).
    const other: 0 | 1 = speaker === 0 ? 1 : 0;
    if (r() < 0.3 && turnEnd - turnStart > 1500) {
      const at = turnStart + 500 + Math.round(r() * (turnEnd - turnStart - 1500));
      placed.push({ channel: other, words: take(other, 1), startMs: at, endMs: at + utteranceMs(1) });
    }
    out.push(...placed);
    t = turnEnd + (r() < 0.1 ? between(60_000, 240_000) : between(1000, 25_000));
    speaker = other;
  }
  return out.sort((a, b) => a.startMs - b.startMs);
}

/**
 * Per channel, in order: utterances never overlap and are far enough apart (≥ 0.9 s) to be
 * endpointed apart — except across `holdAtMs`, where the pause itself ends the utterance.
 */
export function checkLayout(utterances: readonly PlacedUtterance[], minGapMs = 900, holdAtMs = Infinity): string[] {
  const problems: string[] = [];
  for (const ch of [0, 1] as const) {
    const mine = utterances.filter((u) => u.channel === ch);
    for (let i = 1; i < mine.length; i++) {
      const gap = mine[i]!.startMs - mine[i - 1]!.endMs;
      if (gap < 0 || (gap < minGapMs && !(mine[i - 1]!.endMs <= holdAtMs && mine[i]!.startMs >= holdAtMs))) problems.push(`channel ${ch}: ${gap} ms between utterances at ${mine[i - 1]!.startMs} and ${mine[i]!.startMs}`);
    }
  }
  return problems;
}

/** Stereo PCMU frames of audio [fromMs, toMs) with the utterances that overlap it. */
export function renderFrames(utterances: readonly PlacedUtterance[], fromMs: number, toMs: number): Uint8Array[] {
  const n = ((toMs - fromMs) * RATE) / 1000;
  const pcm = [new Int16Array(n), new Int16Array(n)];
  for (const u of utterances) {
    if (u.endMs <= fromMs || u.startMs >= toMs) continue;
    const s = synthesizeWords([u.words]).pcm;
    const at = ((u.startMs - fromMs) * RATE) / 1000; // may be negative (started in an earlier chunk)
    const from = Math.max(0, -at);
    const to = Math.min(s.length, n - at);
    if (to > from) pcm[u.channel]!.set(s.subarray(from, to), at + from);
  }
  return pcmuFrames(pcm, FRAME_MS);
}

/**
 * The vendor's backlog: audio the engine streams were given (replays included) that the fake has
 * not received yet. Google keeps up with real-time audio; an in-process fake at 100× and more
 * does not always (gRPC in the same event loop as the server and the client), and a backlog past
 * the engine's 30 s replay would lose words for reasons no real call has. The sender waits while
 * the backlog is large, so every part of the call runs with a vendor that keeps up.
 */
export function meteredEngine<T extends SpeechEngine>(inner: T, fake: FakeGoogleSpeech): { engine: T; backlogSamples(): number } {
  /** Per open engine stream: samples given to its current vendor call. */
  const open = new Set<{ pushed: number }>();
  const engine = Object.create(inner) as T;
  engine.openStream = (options) => {
    const s = inner.openStream(options);
    const m = { pushed: 0 };
    open.add(m);
    const metered: EngineStream = {
      push: (pcm) => {
        m.pushed += pcm.length;
        s.push(pcm);
      },
      // A flush half-closes the vendor call; the next push opens another.
      flush: () => {
        m.pushed = 0;
        return s.flush();
      },
      close: () => {
        open.delete(m);
        return s.close();
      },
    };
    return metered;
  };
  return {
    engine,
    backlogSamples() {
      let pushed = 0;
      for (const m of open) pushed += m.pushed;
      let received = 0;
      for (const c of fake.calls) if (c.open) received += c.audioBytes / 2; // LINEAR16
      return pushed - received;
    },
  };
}

export interface PacedStreamOptions {
  /** Audio ms per wall-clock ms. */
  speed: number;
  /** Rendered this much audio at a time. */
  chunkMs?: number;
  /** Called (and awaited) before the frame starting at each multiple of `everyMs`, including `fromMs` when it is one. */
  every?: { ms: number; fn: (audioMs: number) => void | Promise<void> };
  /** Samples (all channels) the vendor has yet to receive; see meteredEngine. */
  backlog?: () => number;
  /** Audio the vendor may be behind, summed over channels, before sending waits; default 4,000 ms (2 s a channel). */
  maxBacklogMs?: number;
  /** Counts the waits for the vendor, and how long they took. */
  stats?: { waits: number; waitedMs: number };
}

/**
 * Sends the call's audio [fromMs, toMs) `speed` times faster than real time, paced against the
 * wall clock (timers are late under load: a fixed sleep per batch would drift), in bursts of at
 * most 10 ms worth of audio with the event loop turned between them, so the in-process server and
 * fake handle each burst before the next. Behind schedule (a GC, a wait for the vendor), it
 * catches up in bursts of the same size, never in one: a real client never sends a minute of
 * audio at once. With `backlog`, sending waits (up to 5 s at a time) while the vendor is more than
 * `maxBacklogMs` behind. Returns the wall-clock ms it took.
 */
export async function streamCall(c: TestClient, utterances: readonly PlacedUtterance[], fromMs: number, toMs: number, o: PacedStreamOptions): Promise<number> {
  const chunkMs = o.chunkMs ?? 10_000;
  const maxBurst = Math.max(1, Math.ceil((o.speed * 10) / FRAME_MS));
  const t0 = performance.now();
  let sent = 0; // audio ms sent by this call
  let burst = 0;
  for (let chunk = fromMs; chunk < toMs; chunk += chunkMs) {
    const frames = renderFrames(utterances, chunk, Math.min(toMs, chunk + chunkMs));
    for (const frame of frames) {
      const at = fromMs + sent;
      if (o.every && at % o.every.ms === 0) await o.every.fn(at);
      if (o.backlog && o.backlog() > ((o.maxBacklogMs ?? 4000) * RATE) / 1000) {
        const from = performance.now();
        while (o.backlog() > ((o.maxBacklogMs ?? 4000) * RATE) / 1000 && performance.now() - from < 5000) await sleep(1);
        if (o.stats) {
          o.stats.waits++;
          o.stats.waitedMs += performance.now() - from;
        }
        burst = 0;
      }
      const ahead = sent / o.speed - (performance.now() - t0);
      if (ahead >= 1) {
        await sleep(ahead);
        burst = 0;
      } else if (burst >= maxBurst) {
        await new Promise<void>((r) => setImmediate(r));
        burst = 0;
      }
      c.audio(frame);
      burst++;
      sent += FRAME_MS;
    }
  }
  return performance.now() - t0;
}
