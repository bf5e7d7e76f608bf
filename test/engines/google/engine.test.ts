/**
 * The Google engine with the real SDK against the fake Speech v2 server (gRPC over loopback):
 * what it sends, what it makes of the answers, and that it lets go of every call.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { createGoogleEngine, type GoogleEngine } from '../../../src/engines/google/index.js';
import { EngineError, type EngineStreamOptions, type RecognitionResult } from '../../../src/engines/types.js';
import { startFakeGoogleSpeech, type FakeGoogleSpeech } from '../../../src/testing/fake-google-speech/server.js';
import { synthesizeWords } from '../../../src/testing/fake-google-speech/vocabulary.js';

let fake: FakeGoogleSpeech;
const warnings: string[] = [];
const onWarning = (w: Error) => void warnings.push(`${w.name}: ${w.message}`);

beforeAll(async () => {
  process.on('warning', onWarning);
  fake = await startFakeGoogleSpeech({ location: 'us-central1', audioTimeoutSeconds: 2 });
});
afterAll(async () => {
  process.off('warning', onWarning);
  await fake.close();
});

function engine(env: Record<string, string> = {}): GoogleEngine {
  const config = loadConfig({ GOOGLE_SPEECH_INSECURE: 'true', GOOGLE_SPEECH_ENDPOINT: fake.address, GOOGLE_CLOUD_PROJECT: 'acme', ...env });
  return createGoogleEngine(config.engines.google!);
}

function open(e: GoogleEngine, extra: Partial<EngineStreamOptions> = {}) {
  const results: RecognitionResult[] = [];
  const errors: Error[] = [];
  const stream = e.openStream({
    language: 'en-US',
    sampleRate: 8000,
    interimResults: false,
    log: pino({ level: 'silent' }),
    onResult: (r) => results.push(r),
    onError: (err) => errors.push(err),
    ...extra,
  });
  /** Pushes in 200 ms frames through one reused array, as the session does. */
  const push = (pcm: Int16Array) => {
    const frame = new Int16Array(1600);
    for (let i = 0; i < pcm.length; i += 1600) {
      const part = pcm.subarray(i, i + 1600);
      frame.set(part);
      stream.push(part.length === 1600 ? frame : frame.subarray(0, part.length));
    }
  };
  return { stream, results, errors, push };
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('google engine against the fake Speech v2 service', () => {
  it('sends recognizer, model and LINEAR16 8 kHz first, audio in chunks of at most 15 KB, and maps finals with word times', async () => {
    const e = engine();
    const speech = synthesizeWords([['alpha', 'bravo'], ['charlie']], { leadingSilenceMs: 300, trailingSilenceMs: 700 });
    const s = open(e, { phrases: ['Acme Premium'] });
    const before = fake.calls.length;
    // One oversized push (4 s at once) must still be cut under Google's 15,360-byte limit.
    s.stream.push(speech.pcm);
    await s.stream.flush();
    const call = fake.calls[before]!;
    expect(call.recognizer).toBe('projects/acme/locations/us-central1/recognizers/_');
    expect(call.config).toMatchObject({
      config: {
        model: 'chirp_2',
        languageCodes: ['en-US'],
        explicitDecodingConfig: { encoding: 'LINEAR16', sampleRateHertz: 8000, audioChannelCount: 1 },
        features: { enableAutomaticPunctuation: true, enableWordTimeOffsets: true },
        adaptation: { phraseSets: [{ inlinePhraseSet: { phrases: [{ value: 'Acme Premium', boost: 10 }] } }] },
      },
      streamingFeatures: { interimResults: false },
    });
    expect(call.maxChunkBytes).toBeLessThanOrEqual(15_360);
    expect(call.audioBytes).toBe(speech.pcm.length * 2);
    expect(s.results.map((r) => r.text)).toEqual(['Alpha bravo.', 'Charlie.']);
    expect(s.results.every((r) => r.isFinal && r.confidence === 0.9 && r.language === 'en-US')).toBe(true);
    const [u1, u2] = speech.spans;
    expect(s.results[0]!.startMs).toBeCloseTo(u1!.startMs, -2);
    expect(s.results[0]!.words!.map((w) => w.text)).toEqual(['Alpha', 'bravo.']);
    expect(s.results[1]!.startMs).toBeCloseTo(u2!.startMs, -2);
    expect(s.errors).toEqual([]);
    await s.stream.close();
    await e.close();
  });

  it('flush ends the call; the next push opens a fresh call on the same time base', async () => {
    const e = engine();
    const s = open(e, { interimResults: true });
    const first = synthesizeWords([['delta']], { trailingSilenceMs: 200 });
    s.push(first.pcm);
    await s.stream.flush();
    const callsAfterFirst = fake.calls.length;
    expect(fake.calls.at(-1)!.ended).toBe('ok');
    const second = synthesizeWords([['echo']], { leadingSilenceMs: 500, trailingSilenceMs: 700 });
    s.push(second.pcm);
    await s.stream.flush();
    expect(fake.calls.length).toBe(callsAfterFirst + 1);
    const finals = s.results.filter((r) => r.isFinal);
    expect(finals.map((r) => r.text)).toEqual(['Delta.', 'Echo.']);
    const offset = (first.pcm.length / 8000) * 1000;
    expect(finals[1]!.startMs).toBeCloseTo(offset + second.spans[0]!.startMs, -2);
    expect(s.results.some((r) => !r.isFinal)).toBe(true);
    await s.stream.close();
    await e.close();
  });

  it('ends a call that gets no audio before Google would time it out, finals delivered, no error', async () => {
    // The fake times out a call after 2 s without audio, as Google does after ~10 s; the engine
    // ends it first (here after 0.5 s instead of 5 s).
    const config = loadConfig({ GOOGLE_SPEECH_INSECURE: 'true', GOOGLE_SPEECH_ENDPOINT: fake.address });
    const e = createGoogleEngine({ ...config.engines.google!, idleEndMs: 500 });
    const s = open(e);
    const before = fake.calls.length;
    s.push(synthesizeWords([['foxtrot']], { trailingSilenceMs: 100 }).pcm);
    await until(() => fake.calls[before]?.ended !== null && fake.calls[before]?.ended !== undefined, 4000);
    await new Promise((r) => setTimeout(r, 2500)); // past the fake's timeout: nothing more may happen
    expect(fake.calls[before]!.ended).toBe('ok');
    expect(s.errors).toEqual([]);
    expect(s.results.map((r) => r.text)).toEqual(['Foxtrot.']);
    // The next audio opens a fresh call.
    s.push(synthesizeWords([['golf']], { trailingSilenceMs: 700 }).pcm);
    await s.stream.flush();
    expect(fake.calls.length).toBe(before + 2);
    expect(s.results.map((r) => r.text)).toEqual(['Foxtrot.', 'Golf.']);
    await s.stream.close();
    await e.close();
  });

  it('reports silence as settled only after speech ended and its final came, never during speech', async () => {
    const config = loadConfig({ GOOGLE_SPEECH_INSECURE: 'true', GOOGLE_SPEECH_ENDPOINT: fake.address });
    // Audio sent 100 ms ago (instead of 3 s) counts as processed by the service.
    const e = createGoogleEngine({ ...config.engines.google!, settleAfterMs: 100 });
    const settled: Array<{ untilMs: number; finals: number }> = [];
    const speech = synthesizeWords([['alpha', 'bravo', 'charlie', 'delta']], { leadingSilenceMs: 3000, trailingSilenceMs: 4000 });
    const s = open(e, { onSettled: (untilMs) => settled.push({ untilMs, finals: s.results.length }) });
    for (let i = 0; i < speech.pcm.length; i += 1600) {
      s.push(speech.pcm.subarray(i, i + 1600));
      await new Promise((r) => setTimeout(r, 20));
    }
    await s.stream.flush();
    const span = speech.spans[0]!;
    expect(settled.length).toBeGreaterThan(0);
    // Before speech no voice event has come yet: nothing is settled. Audio with speech in it is
    // settled only once its final has been delivered; then the silence after it is.
    expect(settled.every((x) => x.untilMs <= span.startMs || x.finals === 1)).toBe(true);
    expect(settled.at(-1)!.untilMs).toBeGreaterThan(span.endMs + 2000);
    expect(settled.every((x, i) => i === 0 || x.untilMs > settled[i - 1]!.untilMs)).toBe(true);
    await s.stream.close();
    await e.close();
  });

  it("once the engine has seen Google's voice events, a new stream settles its silence before any speech", async () => {
    const config = loadConfig({ GOOGLE_SPEECH_INSECURE: 'true', GOOGLE_SPEECH_ENDPOINT: fake.address });
    const e = createGoogleEngine({ ...config.engines.google!, settleAfterMs: 100 });
    const feed = async (s: ReturnType<typeof open>, pcm: Int16Array) => {
      for (let i = 0; i < pcm.length; i += 1600) {
        s.push(pcm.subarray(i, i + 1600));
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    // A brand-new engine knows nothing yet: 3 s of silence on a first stream is not settled.
    const first: number[] = [];
    const a = open(e, { onSettled: (untilMs) => first.push(untilMs) });
    await feed(a, new Int16Array(24000));
    expect(first).toEqual([]);
    await feed(a, synthesizeWords([['alpha']], { trailingSilenceMs: 1500 }).pcm);
    await a.stream.flush();
    expect(first.length).toBeGreaterThan(0);
    // The engine has seen voice events: a second stream's leading silence is settled.
    const second: number[] = [];
    const b = open(e, { onSettled: (untilMs) => second.push(untilMs) });
    await feed(b, new Int16Array(24000));
    expect(second.length).toBeGreaterThan(0);
    expect(second.at(-1)!).toBeGreaterThanOrEqual(2000);
    await a.stream.close();
    await b.stream.close();
    await e.close();
  });

  it('settles nothing sent more recently than the service can have heard it (audio fed fast)', async () => {
    const e = engine();
    const settled: number[] = [];
    const speech = synthesizeWords([['echo']], { leadingSilenceMs: 500, trailingSilenceMs: 8000 });
    const s = open(e, { onSettled: (untilMs) => settled.push(untilMs) });
    s.push(speech.pcm.subarray(0, 16000));
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 16000; i < speech.pcm.length; i += 1600) s.push(speech.pcm.subarray(i, i + 1600));
    await s.stream.flush();
    // Everything went out within well under the 3 s margin: no silence may be dropped from the replay.
    expect(settled).toEqual([]);
    await s.stream.close();
    await e.close();
  });

  it('reports a refused stream once, as an EngineError an admin can act on', async () => {
    const e = engine();
    fake.rejectAll({ code: 16, message: 'Request had invalid authentication credentials.' });
    try {
      const s = open(e);
      s.push(new Int16Array(8000));
      await until(() => s.errors.length > 0);
      s.push(new Int16Array(8000));
      await new Promise((r) => setTimeout(r, 100));
      expect(s.errors).toHaveLength(1);
      expect(s.errors[0]).toBeInstanceOf(EngineError);
      expect(s.errors[0]).toMatchObject({ kind: 'auth', retryable: false });
      expect(s.errors[0]!.message).toMatch(/UNAUTHENTICATED.*GOOGLE_APPLICATION_CREDENTIALS/);
      await s.stream.close();
    } finally {
      fake.rejectAll(null);
      await e.close();
    }
  });

  it('reports a dropped stream as retryable', async () => {
    const e = engine();
    fake.failNextStreams(1, { code: 14, message: 'The service is currently unavailable.', afterAudioMs: 400 });
    const s = open(e);
    s.push(new Int16Array(8000));
    await until(() => s.errors.length > 0);
    expect(s.errors[0]).toMatchObject({ kind: 'unavailable', retryable: true });
    expect(s.errors[0]!.message).toMatch(/UNAVAILABLE/);
    await s.stream.close();
    await e.close();
  });

  it('spreads streams over connections of at most GOOGLE_STREAMS_PER_CONNECTION, and close cancels every call', async () => {
    const e = engine({ GOOGLE_STREAMS_PER_CONNECTION: '3' });
    const before = fake.connections;
    const streams = Array.from({ length: 7 }, () => open(e));
    for (const s of streams) s.push(new Int16Array(1600));
    await until(() => fake.activeCalls >= 7);
    expect(e.connections.size).toBe(3);
    expect(e.connections.active).toBe(7);
    expect(fake.connections - before).toBe(3);
    await Promise.all(streams.map((s) => s.stream.close()));
    await until(() => fake.activeCalls === 0);
    expect(e.connections.active).toBe(0);
    expect(fake.calls.slice(-7).every((c) => c.ended === 'cancelled')).toBe(true);
    await e.close();
  });

  it('never probes the GCE metadata server (no MetadataLookupWarning)', () => {
    expect(warnings.filter((w) => /Metadata/i.test(w))).toEqual([]);
  });
});
