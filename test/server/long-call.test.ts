/**
 * "Prove it survives": a two-hour stereo call with a ten-minute hold in the middle, through the
 * real server, the real Speech SDK and the fake Speech v2 service, 150× faster than real time.
 *
 * Words are tone-coded (fake-google-speech/vocabulary.ts) and laid out like a conversation —
 * turns, backchannels, silences up to four minutes, speech 4 % of each channel — so every one of
 * ~1,800 words must come back exactly once, on its channel, where it was placed in the audio.
 * The call runs once (beforeAll); the tests below check what it left behind.
 *
 * Vendor streams end after 64 s of audio here (Google: ~5 min), so each channel's stream is
 * replaced ~190 times. Not 15 s: the connector keeps at most 30 s of audio for a replay, and only
 * for limits under 64 s (95 % of the limit / 2 < 30 s) can the unfinalized audio outgrow half the
 * limit, when ChannelPipeline.replaceStream flushes the old stream instead of replaying — a path
 * the default 300 s limit never takes. LONG_CALL_STREAM_LIMIT_SECONDS=15 runs the call with it.
 *
 * Environment: LONG_CALL_MINUTES (default 120: minutes of audio, the hold not counted),
 * LONG_CALL_SPEED (default 150: times real time), LONG_CALL_STREAM_LIMIT_SECONDS (default 64).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createGoogleEngine, type GoogleEngine } from '../../src/engines/google/index.js';
import { parseDuration } from '../../src/protocol/duration.js';
import { startFakeGoogleSpeech, type FakeCallRecord, type FakeGoogleSpeech } from '../../src/testing/fake-google-speech/server.js';
import { TestClient, capturingLogger, sleep, startTestServer } from './harness.js';
import { FRAME_MS, checkLayout, conversation, meteredEngine, prng, streamCall, utteranceMs, type PlacedUtterance } from './long-call-audio.js';

const MINUTES = Number(process.env['LONG_CALL_MINUTES'] ?? 120);
const SPEED = Number(process.env['LONG_CALL_SPEED'] ?? 150);
const STREAM_LIMIT_SECONDS = Number(process.env['LONG_CALL_STREAM_LIMIT_SECONDS'] ?? 64);
/** The hold Genesys declares at `resumed`; the client's real pause is HOLD_WALL_MS. */
const HOLD_SECONDS = 600;
/** Longer than the fake's 2 s audio timeout: a vendor stream left open over the hold would fail. */
const HOLD_WALL_MS = 2500;
const SAMPLE_EVERY_MS = 10 * 60_000;
/** Where each final and word must be, as in google.integration.test.ts. */
const TOLERANCE_S = 0.15;

/** A real heap figure needs a full GC first; `--expose-gc` can be turned on from inside. */
const gc: (() => void) | undefined = (() => {
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
})();

interface MemorySample {
  minute: number;
  rssMB: number;
  heapUsedMB: number;
  /** heapUsed right after a full GC: what is still referenced. */
  heapAfterGcMB: number | undefined;
  externalMB: number;
  arrayBuffersMB: number;
}

interface Final {
  channelId: number;
  offset: number;
  duration: number;
  words: string[];
  tokens: Array<{ value: string; offset: number }>;
}

interface Run {
  utterances: PlacedUtterance[];
  /** Audio ms at which the client paused (a frame boundary). */
  holdAtMs: number;
  totalMs: number;
  finals: Final[];
  interims: number;
  types: string[];
  memory: MemorySample[];
  logs: Array<Record<string, unknown>>;
  metrics: string;
  calls: readonly FakeCallRecord[];
  /** Vendor streams open at the fake during the hold, every 100 ms. */
  openDuringHold: number[];
  /** Vendor streams the fake had seen when the hold began. */
  callsBeforeHold: number;
}

let fake: FakeGoogleSpeech | undefined;
let google: GoogleEngine | undefined;
let server: Awaited<ReturnType<typeof startTestServer>>['server'] | undefined;
let run: Run;

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const position = (ms: number) => `PT${ms / 1000}S`;

function sampleMemory(audioMs: number): MemorySample {
  gc?.();
  const afterGc = gc ? process.memoryUsage().heapUsed : undefined;
  const m = process.memoryUsage();
  return {
    minute: audioMs / 60_000,
    rssMB: mb(m.rss),
    heapUsedMB: mb(m.heapUsed),
    heapAfterGcMB: afterGc === undefined ? undefined : mb(afterGc),
    externalMB: mb(m.external),
    arrayBuffersMB: mb(m.arrayBuffers),
  };
}

/** A conversation, the hold in the middle right after the customer spoke, another conversation. */
function layout(totalMs: number): { utterances: PlacedUtterance[]; holdAtMs: number } {
  const holdAtMs = Math.round(totalMs / 2 / FRAME_MS) * FRAME_MS;
  const random = prng(20240607);
  const next: [number, number] = [0, 13];
  const before = conversation({ fromMs: 1000, toMs: holdAtMs - 15_000, random, next });
  // The customer's last words end 300 ms before the hold, within the fake's 500 ms endpoint: it
  // is `paused` (a flush) that finalizes them.
  const last: PlacedUtterance = { channel: 0, words: ['mike', 'november', 'oscar'], startMs: holdAtMs - 300 - utteranceMs(3), endMs: holdAtMs - 300 };
  // Right after the hold the customer speaks again, 400 ms in.
  const after = conversation({ fromMs: holdAtMs + 400, toMs: totalMs - 2000, random, next });
  return { utterances: [...before, last, ...after], holdAtMs };
}

function finalsOf(c: TestClient): { finals: Final[]; interims: number } {
  const all = c.transcripts();
  const clean = (s: string) => s.replace(/[.,?!]/g, '').toLowerCase();
  const finals = all
    .filter((d: any) => d.isFinal)
    .map((d: any): Final => {
      const interp = d.alternatives[0].interpretations[0];
      return {
        channelId: d.channelId,
        offset: parseDuration(d.offset)!,
        duration: parseDuration(d.duration)!,
        words: clean(interp.transcript).split(' '),
        tokens: (interp.tokens as any[]).map((t) => ({ value: clean(t.value), offset: parseDuration(t.offset)! })),
      };
    });
  return { finals, interims: all.length - finals.length };
}

beforeAll(async () => {
  const totalMs = MINUTES * 60_000;
  const { utterances, holdAtMs } = layout(totalMs);

  // Google aborts a stream after ~10 s without audio; 2 s here, so the 2.5 s hold would show one.
  fake = await startFakeGoogleSpeech({ streamLimitSeconds: STREAM_LIMIT_SECONDS, audioTimeoutSeconds: 2 });
  const config = loadConfig({ GOOGLE_SPEECH_INSECURE: 'true', GOOGLE_SPEECH_ENDPOINT: fake.address, GOOGLE_STREAM_LIMIT_SECONDS: String(STREAM_LIMIT_SECONDS) });
  google = createGoogleEngine(config.engines.google!);
  const metered = meteredEngine(google, fake);
  const { log, lines } = capturingLogger('info');
  // Events flow 150× faster than on a real call: Genesys' 5 events/s would hold finals back.
  server = (await startTestServer({ RATE_LIMIT_PER_SECOND: '1000', RATE_LIMIT_BURST: '1000' }, metered.engine, log)).server;

  // A short call first: the vendor connection is up and the code warm before the long call, as
  // on a server that has been running (at 150×, connecting alone takes tens of seconds of audio).
  const w = await TestClient.connect(server.url);
  w.open({ customConfig: { transcriptionVendor: 'google' } });
  await w.waitType('opened');
  const warmUp: PlacedUtterance[] = [
    { channel: 0, words: ['alpha'], startMs: 500, endMs: 740 },
    { channel: 1, words: ['bravo'], startMs: 1500, endMs: 1740 },
  ];
  await streamCall(w, warmUp, 0, 4000, { speed: 10 });
  w.send('close', { reason: 'end' }, { position: position(4000) });
  await w.waitType('closed');
  w.ws.close();
  expect(finalsOf(w).finals.map((f) => f.words)).toEqual([['alpha'], ['bravo']]);

  const c = await TestClient.connect(server.url);
  c.open({ customConfig: { transcriptionVendor: 'google' } });
  await c.waitType('opened');
  const memory: MemorySample[] = [];
  const waits = { waits: 0, waitedMs: 0 };
  const paced = {
    speed: SPEED,
    every: { ms: SAMPLE_EVERY_MS, fn: (at: number) => void memory.push(sampleMemory(at)) },
    backlog: metered.backlogSamples,
    stats: waits,
  };
  const first = await streamCall(c, utterances, 0, holdAtMs, paced);

  // The hold: `paused` at holdAtMs, no audio for 2.5 s of real time, 10 minutes declared at `resumed`.
  c.send('paused', {}, { position: position(holdAtMs) });
  const callsBeforeHold = fake.calls.length;
  const openDuringHold: number[] = [];
  for (const end = performance.now() + HOLD_WALL_MS; performance.now() < end; ) {
    await sleep(100);
    openDuringHold.push(fake.activeCalls);
  }
  c.send('resumed', { start: position(holdAtMs), discarded: `PT${HOLD_SECONDS}S` }, { position: position(holdAtMs + HOLD_SECONDS * 1000) });

  const second = await streamCall(c, utterances, holdAtMs, totalMs, paced);
  if (totalMs % SAMPLE_EVERY_MS === 0) memory.push(sampleMemory(totalMs));
  c.send('close', { reason: 'end' }, { position: position(totalMs + HOLD_SECONDS * 1000) });
  await c.waitType('closed', 30_000);
  c.ws.close();

  run = {
    utterances,
    holdAtMs,
    totalMs,
    ...finalsOf(c),
    types: c.types(),
    memory,
    logs: lines.filter((l) => l['sessionId'] === c.sessionId),
    metrics: await server.stats.prometheus.registry.metrics(),
    calls: fake.calls,
    openDuringHold,
    callsBeforeHold,
  };
  const words = [0, 1].map((ch) => utterances.filter((u) => u.channel === ch).reduce((n, u) => n + u.words.length, 0));
  const speech = utterances.reduce((n, u) => n + u.endMs - u.startMs, 0) / 2;
  console.log(
    `long call: ${MINUTES} min of stereo audio in ${((first + second) / 1000).toFixed(1)} s (${Math.round(totalMs / (first + second))}× real time; ` +
      `asked ${SPEED}×), hold ${HOLD_WALL_MS / 1000} s; ${utterances.length} utterances, words per channel ${words.join('/')}, ` +
      `speech ${((100 * speech) / totalMs).toFixed(1)} % of each channel; ${fake.calls.length} vendor streams; ` +
      `waited for the vendor ${waits.waits}× (${Math.round(waits.waitedMs)} ms in all); vendor streams open during the hold: ${openDuringHold.join(' ')}`,
  );
  console.log(`memory every 10 min of audio (MB; heapAfterGcMB: after a full GC${gc ? '' : ' — not available'}):`);
  console.table(memory);
}, 600_000);

afterAll(async () => {
  await server?.close();
  await google?.close();
  await fake?.close();
});

/** Where each utterance of a channel should come back, in stream seconds (the hold included). */
function expected(ch: 0 | 1) {
  return run.utterances
    .filter((u) => u.channel === ch)
    .map((u) => {
      const shift = u.startMs >= run.holdAtMs ? HOLD_SECONDS : 0;
      return {
        words: u.words,
        start: u.startMs / 1000 + shift,
        end: u.endMs / 1000 + shift,
        // vocabulary.ts: 240 ms tones, 120 ms apart
        wordStarts: u.words.map((_, i) => (u.startMs + 360 * i) / 1000 + shift),
      };
    });
}

const sessionEnded = () => run.logs.filter((l) => l['msg'] === 'session ended').at(-1)!;

describe(`a ${MINUTES}-minute stereo call on google, ${STREAM_LIMIT_SECONDS} s vendor streams, a 10-minute hold in the middle`, () => {
  it('is laid out as a real call: mostly silence, hundreds of words per channel', () => {
    expect(checkLayout(run.utterances, 900, run.holdAtMs)).toEqual([]);
    for (const ch of [0, 1] as const) {
      const mine = run.utterances.filter((u) => u.channel === ch);
      expect(mine.reduce((n, u) => n + u.words.length, 0)).toBeGreaterThanOrEqual(Math.floor(MINUTES * 5));
      expect(mine.reduce((n, u) => n + u.endMs - u.startMs, 0) / run.totalMs).toBeLessThan(0.1);
    }
  });

  it('recognizes every word exactly once, in order, on its channel', () => {
    for (const ch of [0, 1] as const) {
      const got = run.finals.filter((f) => f.channelId === ch);
      const want = expected(ch);
      expect(got.flatMap((f) => f.words)).toEqual(want.flatMap((u) => u.words));
      // Utterance by utterance too: none split by a rotation, none merged.
      expect(got.map((f) => f.words)).toEqual(want.map((u) => u.words));
    }
    expect(run.interims).toBe(0);
  });

  it('puts every final and every word where it was in the audio; offsets monotonic per channel', () => {
    const problems: string[] = [];
    for (const ch of [0, 1] as const) {
      const got = run.finals.filter((f) => f.channelId === ch);
      const want = expected(ch);
      got.forEach((f, i) => {
        const text = `ch${ch} final #${i} "${f.words.join(' ')}" ${f.offset}–${(f.offset + f.duration).toFixed(3)}`;
        // The utterance placed nearest to where this final says it started.
        const w = want.reduce((a, b) => (Math.abs(b.start - f.offset) < Math.abs(a.start - f.offset) ? b : a));
        const wrong =
          f.words.join(' ') !== w.words.join(' ') ||
          Math.abs(f.offset - w.start) > TOLERANCE_S ||
          Math.abs(f.offset + f.duration - w.end) > TOLERANCE_S ||
          f.tokens.some((t, k) => t.value !== w.words[k] || Math.abs(t.offset - w.wordStarts[k]!) > TOLERANCE_S);
        if (wrong) problems.push(`${text}: placed there was "${w.words.join(' ')}" ${w.start}–${w.end}`);
        // In the order sent: each final starts after the previous one on its channel ended.
        const prev = got[i - 1];
        if (prev && f.offset < prev.offset + prev.duration - 0.001) problems.push(`${text}: sent after a final that ends at ${(prev.offset + prev.duration).toFixed(3)}`);
      });
    }
    expect(problems).toEqual([]);
  });

  it('replaces vendor streams hundreds of times without the vendor ever ending one, and nothing fails', () => {
    const ended = new Map<string, number>();
    for (const call of run.calls) ended.set(String(call.ended), (ended.get(String(call.ended)) ?? 0) + 1);
    // No stream reached the limit or the audio timeout (both OUT_OF_RANGE), none failed otherwise.
    expect([...ended.keys()].filter((k) => k !== 'ok' && k !== 'cancelled')).toEqual([]);
    expect(run.calls.every((call) => call.audioBytes <= STREAM_LIMIT_SECONDS * 16_000)).toBe(true);
    const end = sessionEnded();
    expect(end).toMatchObject({ reason: 'close:end', engineRestarts: 0, framesDropped: 0, interimsShed: 0 });
    expect(end['eventsSent']).toBe(run.finals.length);
    // At least one replacement per 95 % of the limit per channel (more: replays count towards it).
    expect(end['engineRotations']).toBeGreaterThanOrEqual(Math.floor((2 * run.totalMs) / (0.95 * STREAM_LIMIT_SECONDS * 1000)));
    // The client's positions (audio sent + the declared hold) and the server's timeline agree.
    expect(end['maxPositionDrift']).toBe(0);
    expect(end['streamSeconds']).toBe(run.totalMs / 1000 + HOLD_SECONDS);
    expect(run.metrics).not.toMatch(/^audiohook_engine_errors_total\{.*\} [1-9]/m);
    expect(run.metrics).not.toMatch(/^audiohook_engine_restarts_total\{.*kind="restart".*\} [1-9]/m);
    expect(run.logs.filter((l) => (l['level'] as number) >= 40)).toEqual([]);
    expect(run.types.filter((t) => t === 'disconnect' || t === 'error')).toEqual([]);
    // Not asserted: audioNotTranscribedMs. Silence is dropped from the replay once sent 3 s ago
    // by the wall clock — at 150× that is 7 minutes of audio, so the 30 s replay fills with
    // silence and its overflow is counted. Every word arriving once is the measure of loss here.
    console.log(
      `vendor streams: ${run.calls.length} (${[...ended].map(([k, v]) => `${k} ${v}`).join(', ')}); rotations ${end['engineRotations']}; ` +
        `audioNotTranscribedMs ${end['audioNotTranscribedMs']}`,
    );
  });

  it('holds 10 minutes without a vendor timeout, and the offsets after the hold include it', () => {
    // `paused` finalized and ended both vendor streams: none open over the hold (after the
    // flush's first 100 ms), so the vendor's audio timeout had nothing to end.
    expect(run.openDuringHold.slice(1)).toEqual(run.openDuringHold.slice(1).map(() => 0));
    expect(run.calls.length).toBeGreaterThan(run.callsBeforeHold);
    const resumed = run.logs.filter((l) => l['msg'] === 'session resumed').at(-1);
    expect(resumed?.['position']).toBe(run.holdAtMs / 1000 + HOLD_SECONDS);
    const holdAt = run.holdAtMs / 1000;
    // The customer's words just before the hold, finalized by the pause, keep their place…
    const ch0 = run.finals.filter((f) => f.channelId === 0);
    const last = ch0.filter((f) => f.offset < holdAt).length - 1;
    expect(ch0[last]!.words).toEqual(['mike', 'november', 'oscar']);
    expect(ch0[last]!.offset + ch0[last]!.duration).toBeCloseTo(holdAt - 0.3, 1);
    // …and the words after it are 600 s later than their place in the audio sent.
    expect(ch0[last + 1]!.offset).toBeCloseTo(holdAt + HOLD_SECONDS + 0.4, 1);
    for (const ch of [0, 1] as const) {
      const after = run.finals.filter((f) => f.channelId === ch && f.offset >= holdAt);
      expect(after.length).toBeGreaterThan(MINUTES / 2);
      expect(after.every((f) => f.offset >= holdAt + HOLD_SECONDS)).toBe(true);
    }
  });

  it('keeps memory flat across the call', () => {
    // Samples every 10 minutes of audio after a 10-minute warm-up; the first third against the last.
    const samples = run.memory.filter((s) => s.minute >= 10);
    expect(samples.length).toBeGreaterThanOrEqual(Math.floor(MINUTES / 10));
    const third = Math.max(1, Math.floor(samples.length / 3));
    const max = (xs: MemorySample[], f: (s: MemorySample) => number) => Math.max(...xs.map(f));
    const growth = (f: (s: MemorySample) => number) => max(samples.slice(-third), f) - max(samples.slice(0, third), f);
    if (gc) {
      // What stays referenced after a full GC. Growing legitimately: the test client's transcript
      // messages and the fake's per-stream records, ~1 MB over the call. 4 MB between minutes
      // 10–40 and 90–120 (≥ 15,000 frames, ≥ 90 stream replacements) is a leak of ≥ 280 bytes a
      // frame or ≥ 45 KB a replacement (an engine stream with its replay is far more).
      expect(growth((s) => s.heapAfterGcMB!), 'heap after GC, MB').toBeLessThan(4);
    } else {
      expect(growth((s) => s.heapUsedMB), 'heap, MB').toBeLessThan(32);
    }
    // RSS keeps what the allocator got; a leak of a frame per frame (~50 MB here) still shows.
    expect(growth((s) => s.rssMB), 'RSS, MB').toBeLessThan(32);
  });
});
