/**
 * The fake Google Speech v2 service, driven by the real @google-cloud/speech client over
 * insecure gRPC on 127.0.0.1.
 */
import * as grpc from '@grpc/grpc-js';
import type { protos } from '@google-cloud/speech';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMulaw } from '../../src/audio/mulaw.js';
import { createRecognizer, type RecognizerEvent } from '../../src/testing/fake-google-speech/recognizer.js';
import { startFakeGoogleSpeech, type FakeGoogleSpeech } from '../../src/testing/fake-google-speech/server.js';
import { WORDS, pcm16Bytes, synthesizeWords, wordForFrequency } from '../../src/testing/fake-google-speech/vocabulary.js';

type SpeechClient = InstanceType<(typeof import('@google-cloud/speech'))['v2']['SpeechClient']>;
type Response = protos.google.cloud.speech.v2.IStreamingRecognizeResponse;
type Result = protos.google.cloud.speech.v2.IStreamingRecognitionResult;
type Duration = protos.google.protobuf.IDuration;

const RECOGNIZER = 'projects/p/locations/us-central1/recognizers/_';
const CONFIG = {
  explicitDecodingConfig: { encoding: 'LINEAR16', sampleRateHertz: 8000, audioChannelCount: 1 },
  languageCodes: ['en-US'],
  model: 'chirp_2',
  features: { enableAutomaticPunctuation: true, enableWordTimeOffsets: true },
};
const firstRequest = (config: object = CONFIG, interimResults = true): object => ({
  recognizer: RECOGNIZER,
  streamingConfig: { config, streamingFeatures: { interimResults } },
});

const clients: SpeechClient[] = [];
async function clientFor(fake: FakeGoogleSpeech, grpcOptions: object = {}): Promise<SpeechClient> {
  const { v2 } = await import('@google-cloud/speech');
  const client = new v2.SpeechClient({
    ...grpcOptions,
    apiEndpoint: '127.0.0.1',
    port: fake.port,
    sslCreds: grpc.credentials.createInsecure(),
    universeDomain: 'googleapis.com',
    projectId: 'p',
  });
  clients.push(client);
  return client;
}

interface Outcome {
  responses: Response[];
  error?: { code: number; details: string };
}
type Call = ReturnType<SpeechClient['_streamingRecognize']>;

/** How the SDK's stream reports the call: 'data' per response, then 'error' (a status != OK) or 'end'. */
function outcome(call: Call): Promise<Outcome> {
  return new Promise((resolve) => {
    const responses: Response[] = [];
    call.on('data', (r: Response) => responses.push(r));
    call.on('error', (e: { code: number; details: string }) => resolve({ responses, error: { code: e.code, details: e.details } }));
    call.on('end', () => resolve({ responses }));
  });
}

/** One call: the first request, the audio in chunks, then (unless told not to) a half-close. */
async function recognize(client: SpeechClient, audio: Buffer, opts: { first?: object; chunk?: number; end?: boolean } = {}): Promise<Outcome> {
  const call = client._streamingRecognize();
  const done = outcome(call);
  call.write(opts.first ?? firstRequest());
  const chunk = opts.chunk ?? 3200;
  for (let i = 0; i < audio.length; i += chunk) call.write({ audio: audio.subarray(i, i + chunk) });
  if (opts.end !== false) call.end();
  return done;
}

const results = (o: Outcome): Result[] => o.responses.flatMap((r) => r.results ?? []);
const finals = (o: Outcome): Result[] => results(o).filter((r) => r.isFinal);
const transcripts = (rs: Result[]): string[] => rs.map((r) => r.alternatives?.[0]?.transcript ?? '');
const toMs = (d: Duration | null | undefined): number => Number(d?.seconds ?? 0) * 1000 + (d?.nanos ?? 0) / 1e6;
const waitFor = async (cond: () => boolean, ms = 2000): Promise<void> => {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`condition not met in time: ${cond.toString()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

const SPEECH = synthesizeWords([['alpha', 'bravo', 'charlie'], ['delta', 'echo'], ['zulu', 'mike', 'xray', 'november']], {
  leadingSilenceMs: 330,
  trailingSilenceMs: 700,
});

describe('vocabulary and recognizer', () => {
  it('recognizes all 26 tone words with their times, however the audio is chunked', () => {
    const { pcm, spans } = synthesizeWords([WORDS.slice(0, 13), WORDS.slice(13)], { leadingSilenceMs: 77, trailingSilenceMs: 600 });
    expect(WORDS.map((_w, i) => wordForFrequency(300 + 100 * i + 40))).toEqual(WORDS);
    for (const step of [pcm.length, 1, 333]) {
      const rec = createRecognizer({ sampleRate: 8000 });
      const all: RecognizerEvent[] = [];
      for (let i = 0; i < pcm.length; i += step) all.push(...rec.push(pcm.subarray(i, i + step)));
      all.push(...rec.finish());
      expect(all.map((e) => e.kind)).toEqual(['speech-begin', 'speech-end', 'final', 'speech-begin', 'speech-end', 'final']);
      const events = all.filter((e): e is Extract<RecognizerEvent, { kind: 'final' }> => e.kind === 'final');
      expect(events.map((e) => e.words.map((w) => w.word))).toEqual(spans.map((s) => s.words));
      events.forEach((e, u) => e.words.forEach((w, i) => {
        const span = spans[u]?.wordSpans[i];
        expect(Math.abs(w.startMs - (span?.startMs ?? NaN))).toBeLessThan(5);
        expect(Math.abs(w.endMs - (span?.endMs ?? NaN))).toBeLessThan(5);
      }));
    }
  });

  it('emits interims only when asked, and finish() finalizes a pending utterance', () => {
    const { pcm } = synthesizeWords([['kilo', 'lima', 'mike', 'oscar']]);
    const wordsOf = (events: RecognizerEvent[]) => events.flatMap((e) => (e.kind === 'interim' || e.kind === 'final' ? [e.words.map((w) => w.word)] : []));
    const quiet = createRecognizer({ sampleRate: 8000 });
    expect(quiet.push(pcm)).toEqual([{ kind: 'speech-begin', atMs: expect.any(Number) }]);
    expect(wordsOf(quiet.finish())).toEqual([['kilo', 'lima', 'mike', 'oscar']]);
    const chatty = createRecognizer({ sampleRate: 8000, interim: true });
    const interims = chatty.push(pcm).filter((e) => e.kind !== 'speech-begin');
    expect(interims.length).toBeGreaterThanOrEqual(2);
    expect(interims.every((e) => e.kind === 'interim')).toBe(true);
    expect(wordsOf(interims).at(-1)).toEqual(['kilo', 'lima', 'mike', 'oscar']);
  });
});

describe('fake Google Speech v2 with the real SDK', () => {
  let fake: FakeGoogleSpeech;
  let client: SpeechClient;
  beforeAll(async () => {
    fake = await startFakeGoogleSpeech();
    client = await clientFor(fake);
  });
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await fake.close();
  });

  it('returns every tone word once, in order, with word times and the real fields', async () => {
    const out = await recognize(client, pcm16Bytes(SPEECH.pcm));
    expect(out.error).toBeUndefined();
    const fin = finals(out);
    expect(transcripts(fin)).toEqual(['Alpha bravo charlie.', 'Delta echo.', 'Zulu mike xray november.']);
    fin.forEach((r, u) => {
      const span = SPEECH.spans[u]!;
      expect(r.languageCode).toBe('en-us');
      expect(r.alternatives?.[0]?.confidence).toBe(0); // chirp models report none
      const words = r.alternatives?.[0]?.words ?? [];
      expect(words.map((w) => w.word?.replace('.', '').toLowerCase())).toEqual(span.words);
      words.forEach((w, i) => {
        expect(Math.abs(toMs(w.startOffset) - span.wordSpans[i]!.startMs)).toBeLessThanOrEqual(40);
        expect(Math.abs(toMs(w.endOffset) - span.wordSpans[i]!.endMs)).toBeLessThanOrEqual(40);
      });
      expect(toMs(r.resultEndOffset)).toBeCloseTo(toMs(words.at(-1)?.endOffset), 0);
    });
    const interims = results(out).filter((r) => !r.isFinal);
    expect(interims.length).toBeGreaterThan(0);
    expect(interims.every((r) => (r.stability ?? 0) > 0 && (r.alternatives?.[0]?.words ?? []).length === 0)).toBe(true);
  });

  it('sends no interims unless asked; other models report confidence; no punctuation unless asked', async () => {
    const config = { ...CONFIG, model: 'telephony', features: { enableWordConfidence: true } };
    const out = await recognize(client, pcm16Bytes(SPEECH.pcm), { first: firstRequest(config, false) });
    expect(results(out).every((r) => r.isFinal)).toBe(true);
    expect(transcripts(results(out))).toEqual(['alpha bravo charlie', 'delta echo', 'zulu mike xray november']);
    const alt = results(out)[0]?.alternatives?.[0];
    expect(alt?.confidence).toBeCloseTo(0.92, 5);
    expect(alt?.words?.map((w) => [w.word, w.startOffset ?? null])).toEqual([['alpha', null], ['bravo', null], ['charlie', null]]);
    expect(alt?.words?.[0]?.confidence).toBeCloseTo(0.92, 5);
  });

  it('decodes MULAW at other rates', async () => {
    const { pcm } = synthesizeWords([['hotel', 'india']], { sampleRate: 16000 });
    const config = { ...CONFIG, explicitDecodingConfig: { encoding: 'MULAW', sampleRateHertz: 16000, audioChannelCount: 1 } };
    const out = await recognize(client, Buffer.from(encodeMulaw(pcm)), { first: firstRequest(config, false) });
    expect(transcripts(finals(out))).toEqual(['Hotel india.']);
  });

  it('finalizes pending audio at half-close, then ends OK', async () => {
    const { pcm } = synthesizeWords([['golf', 'tango']]); // no silence after the last word
    const before = fake.calls.length;
    const out = await recognize(client, pcm16Bytes(pcm), { first: firstRequest(CONFIG, false) });
    expect(out.error).toBeUndefined();
    expect(transcripts(finals(out))).toEqual(['Golf tango.']);
    expect(fake.calls[before]?.ended).toBe('ok');
  });

  it.each([
    ['no recognizer', { streamingConfig: { config: CONFIG } }, /Invalid resource field value/],
    ['no streaming config', { recognizer: RECOGNIZER }, /Malordered Data Received/],
    ['audio first', { audio: Buffer.alloc(320) }, /Invalid resource field value/],
    ['no model', firstRequest({ ...CONFIG, model: '' }), /model is required/],
    ['unknown model', firstRequest({ ...CONFIG, model: 'phone_call' }), /The model "phone_call" does not exist in the location named "us-central1"/],
    ['no language', firstRequest({ ...CONFIG, languageCodes: [] }), /language code/],
    ['no decoding config', firstRequest({ ...CONFIG, explicitDecodingConfig: undefined }), /decoding_config/],
    ['bad sample rate', firstRequest({ ...CONFIG, explicitDecodingConfig: { encoding: 'LINEAR16', sampleRateHertz: 4000, audioChannelCount: 1 } }), /sample_rate_hertz/],
    ['adaptation with chirp', firstRequest({ ...CONFIG, model: 'chirp', adaptation: { phraseSets: [{ inlinePhraseSet: { phrases: [{ value: 'alpha' }] } }] } }), /does not support feature: speech_adaptation/],
  ])('rejects a first request with %s (INVALID_ARGUMENT)', async (_name, first, message) => {
    const out = await recognize(client, Buffer.alloc(3200), { first });
    expect(out.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(out.error?.details).toMatch(message);
    expect(out.responses).toEqual([]);
  });

  it('rejects a chunk over 15,360 bytes and a second config', async () => {
    const ok = await recognize(client, Buffer.alloc(15_360), { chunk: 15_360 });
    expect(ok.error).toBeUndefined();
    const big = await recognize(client, Buffer.alloc(15_361), { chunk: 15_361 });
    expect(big.error).toEqual({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/maximum of 15360 bytes. Received audio of 15361 bytes/) });
    const call = client._streamingRecognize();
    const again = outcome(call);
    call.write(firstRequest());
    call.write(firstRequest());
    expect((await again).error?.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('fails streams on demand: after some audio, on the first request, or all of them', async () => {
    const { pcm } = synthesizeWords([['alpha'], ['bravo']], { trailingSilenceMs: 600 });
    fake.failNextStreams(1, { code: grpc.status.UNAVAILABLE, afterAudioMs: 1000 });
    fake.failNextStreams(1, { code: grpc.status.RESOURCE_EXHAUSTED, message: 'Quota', afterAudioMs: 0 });
    const late = await recognize(client, pcm16Bytes(pcm), { end: false });
    expect(transcripts(finals(late))).toEqual(['Alpha.']); // audio before the failure is answered
    expect(late.error).toEqual({ code: grpc.status.UNAVAILABLE, details: 'The service is currently unavailable.' });
    const early = await recognize(client, pcm16Bytes(pcm));
    expect(early).toEqual({ responses: [], error: { code: grpc.status.RESOURCE_EXHAUSTED, details: 'Quota' } });
    expect(transcripts(finals(await recognize(client, pcm16Bytes(pcm))))).toEqual(['Alpha.', 'Bravo.']);

    fake.rejectAll({ code: grpc.status.UNAUTHENTICATED, message: 'Request had invalid authentication credentials.' });
    const denied = await recognize(client, pcm16Bytes(pcm));
    expect(denied.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    fake.rejectAll(null);
    expect((await recognize(client, pcm16Bytes(pcm))).error).toBeUndefined();
  });

  it('keeps per-call stats, counts connections and sees cancellations', async () => {
    const n = fake.calls.length;
    const a = client._streamingRecognize();
    const b = client._streamingRecognize();
    a.on('error', () => {});
    const bDone = outcome(b);
    a.write(firstRequest());
    b.write(firstRequest());
    b.write({ audio: Buffer.alloc(1000) });
    b.write({ audio: Buffer.alloc(3000) });
    await waitFor(() => fake.calls.length === n + 2 && fake.calls[n + 1]?.chunks === 2).catch((e) => { console.log(JSON.stringify(fake.calls.slice(n))); throw e; });
    expect(fake.activeCalls).toBe(2);
    a.cancel();
    await waitFor(() => fake.calls[n]?.ended === 'cancelled');
    b.end();
    await bDone;
    expect(fake.calls[n + 1]).toMatchObject({
      recognizer: RECOGNIZER, audioBytes: 4000, chunks: 2, maxChunkBytes: 3000, ended: 'ok', open: false, results: 0,
      config: { config: { model: 'chirp_2', languageCodes: ['en-US'] }, streamingFeatures: { interimResults: true } },
    });
    expect(fake.activeCalls).toBe(0);
    expect(fake.connections).toBe(1); // every call so far shared one HTTP/2 connection
    expect(fake.calls[n]?.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    // grpc-js shares one connection between clients to the same target (global subchannel
    // pool); a client of its own needs a local pool.
    await recognize(await clientFor(fake), Buffer.alloc(320));
    expect(fake.connections).toBe(1);
    await recognize(await clientFor(fake, { 'grpc.use_local_subchannel_pool': 1 }), Buffer.alloc(320));
    expect(fake.connections).toBe(2);
  });
});

describe('fake Google Speech v2 limits', () => {
  let fake: FakeGoogleSpeech;
  let client: SpeechClient;
  beforeAll(async () => {
    fake = await startFakeGoogleSpeech({ streamLimitSeconds: 2, audioTimeoutSeconds: 1, location: 'eu', responseDelayMs: 20 });
    client = await clientFor(fake);
  });
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await fake.close();
  });
  const eu = (first: object): object => ({ ...first, recognizer: 'projects/p/locations/eu/recognizers/_' });

  it('ends a call with OUT_OF_RANGE after the stream limit (of audio), answering the audio before it', async () => {
    const { pcm } = synthesizeWords([['alpha'], ['bravo'], ['charlie']], { utteranceGapMs: 800 });
    const out = await recognize(client, pcm16Bytes(pcm), { first: eu(firstRequest()), end: false });
    expect(transcripts(finals(out))).toEqual(['Alpha.', 'Bravo.']);
    expect(out.error).toEqual({ code: grpc.status.OUT_OF_RANGE, details: 'Exceeded maximum allowed stream duration of 2 seconds.' });
    expect(fake.calls.at(-1)?.audioBytes).toBe(32_000);
  });

  it('ends a call with OUT_OF_RANGE when no request comes for the audio timeout', async () => {
    const call = client._streamingRecognize();
    const done = outcome(call);
    const t0 = Date.now();
    call.write(eu(firstRequest()));
    const out = await done;
    expect(out.error).toEqual({ code: grpc.status.OUT_OF_RANGE, details: expect.stringMatching(/^Audio Timeout Error: Long duration elapsed without audio/) });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(Date.now() - t0).toBeLessThan(2500);
  });

  it('rejects a recognizer of another location', async () => {
    const out = await recognize(client, Buffer.alloc(320), { first: firstRequest() });
    expect(out.error).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'Expected resource location to be eu, but found us-central1 in resource name.',
    });
  });
});
