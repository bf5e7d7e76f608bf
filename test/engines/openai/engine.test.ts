import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAIEngine } from '../../../src/engines/openai/index.js';
import { DEFAULT_ARTIFACTS } from '../../../src/engines/openai/map.js';
import type { OpenAIEngineOptions } from '../../../src/engines/openai/options.js';
import type { EngineError, EngineStreamOptions, RecognitionResult } from '../../../src/engines/types.js';
import { startFakeOpenAI, type FakeOpenAI } from '../../../src/testing/fake-openai/server.js';
import { describeEngineContract } from '../contract.js';
import { canSpeak, pushInFrames, spokenCall, type SpokenCall } from '../kit/speech.js';

const texts = ['Hello, thank you for calling.', 'My name is Anna Lindqvist.', 'I would like to change my tariff.'];
let call: SpokenCall | undefined;
const speech = () => (call ??= spokenCall(texts, [700, 1200, 1200, 1000]));

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(() => fake?.close());

const options = (over: Partial<OpenAIEngineOptions> = {}): OpenAIEngineOptions => ({
  // Generous timeouts: a busy CI machine must not turn a slow answer into a retried (doubled) request.
  apiKey: 'test-key', model: 'gpt-4o-mini-transcribe', baseURL: fake.baseURL, timeoutMs: 10_000, maxRetries: 1,
  deadlineMs: 20_000, concurrency: 8, promptPrevious: true, artifacts: DEFAULT_ARTIFACTS, ...over,
});

function open(engineOptions: Partial<OpenAIEngineOptions> = {}, stream: Partial<EngineStreamOptions> = {}) {
  const results: RecognitionResult[] = [];
  const errors: Error[] = [];
  const engine = createOpenAIEngine(options(engineOptions));
  const s = engine.openStream({
    language: 'en-US', sampleRate: 8000, interimResults: false, log: pino({ level: 'silent' }),
    onResult: (r) => results.push(r), onError: (e) => errors.push(e), ...stream,
  });
  const push = (pcm: Int16Array) => pushInFrames((f) => s.push(f), pcm);
  /** Utterance by utterance, letting each request finish, as audio arriving in real time would. */
  const pushPaced = async (pcm: Int16Array) => {
    let at = 0;
    for (const span of speech().spans) {
      const end = Math.min(pcm.length, Math.round((span.endMs + 900) * 8));
      push(pcm.subarray(at, end));
      at = end;
      await new Promise((r) => setTimeout(r, 100));
    }
    push(pcm.subarray(at));
  };
  return { engine, stream: s, results, errors, push, pushPaced };
}
const finals = (r: RecognitionResult[]) => r.filter((x) => x.isFinal);

describe.skipIf(!canSpeak)('openai engine: real speech through the fake server', () => {
  it('one request per utterance; finals in order on the speech spans, with word confidence and spread word times', async () => {
    fake.reset();
    fake.queue(...texts);
    const before = fake.requests.length;
    const s = open();
    expect(s.engine.name).toBe('openai');
    expect(s.engine.capabilities).toEqual({ interimResults: true, wordTimes: false, wordConfidence: true });
    await s.pushPaced(speech().pcm);
    await s.stream.flush();
    const got = finals(s.results);
    expect(got.map((r) => r.text)).toEqual(texts);
    got.forEach((r, i) => {
      const span = speech().spans[i]!;
      expect(Math.abs(r.startMs - span.startMs)).toBeLessThanOrEqual(150);
      expect(Math.abs(r.endMs - span.endMs)).toBeLessThanOrEqual(150);
      expect(r.confidence).toBeCloseTo(0.9, 6);
      expect(r.words?.[0]?.startMs).toBe(r.startMs);
      expect(r.words?.[r.words.length - 1]?.endMs).toBe(r.endMs);
      expect(r.words?.every((w) => w.confidence !== undefined)).toBe(true);
    });
    const requests = fake.requests.slice(before);
    expect(requests).toHaveLength(3);
    // The audio sent: the speech plus 200 ms pre-roll and up to 200 ms post-roll.
    requests.forEach((q, i) => {
      const span = speech().spans[i]!;
      expect(q.durationMs).toBeGreaterThan(span.endMs - span.startMs + 200);
      expect(q.durationMs).toBeLessThan(span.endMs - span.startMs + 600);
    });
    expect(requests[1]!.prompt).toContain(texts[0]);
    await s.stream.close();
  });

  it('interims from the streamed deltas when the session wants them', async () => {
    fake.reset();
    fake.queue(...texts);
    const s = open({}, { interimResults: true });
    s.push(speech().pcm);
    await s.stream.flush();
    const interims = s.results.filter((r) => !r.isFinal);
    expect(interims.length).toBeGreaterThan(3);
    expect(interims[0]!.text.length).toBeLessThan(texts[0]!.length);
    expect(finals(s.results).map((r) => r.text)).toEqual(texts);
    await s.stream.close();
  });

  it('an utterance that is only an artifact sends nothing; two identical utterances are both sent', async () => {
    fake.reset();
    fake.queue('Ring.', 'Yes.', 'Yes.');
    const s = open();
    s.push(speech().pcm);
    await s.stream.flush();
    expect(finals(s.results).map((r) => r.text)).toEqual(['Yes.', 'Yes.']);
    expect(Math.abs(finals(s.results)[0]!.startMs - speech().spans[1]!.startMs)).toBeLessThanOrEqual(150);
    await s.stream.close();
  });

  it("the session's phrases and Zulu reach the prompt", async () => {
    fake.reset();
    const before = fake.requests.length;
    const s = open({}, { language: 'zu-ZA', phrases: ['Lindqvist', 'MTN'] });
    s.push(speech().pcm.subarray(0, Math.round((speech().spans[0]!.endMs + 900) * 8)));
    await s.stream.flush();
    const q = fake.requests[before]!;
    expect(q.language).toBeUndefined();
    expect(q.prompt).toMatch(/ngesiZulu\. Lindqvist, MTN\.$/);
    await s.stream.close();
  });

  it('a rejected key ends the stream with one clear error; a 429 is retried without losing the utterance', async () => {
    fake.reset();
    const bad = open({ apiKey: 'not-the-key' });
    bad.push(speech().pcm);
    await bad.stream.flush();
    expect(bad.errors).toHaveLength(1);
    expect(bad.errors[0]).toMatchObject({ kind: 'auth', retryable: false } satisfies Partial<EngineError>);
    expect(bad.results).toEqual([]);

    fake.fail({ kind: 'rate-limit', retryAfterMs: 20 });
    fake.queue(...texts);
    const s = open();
    await s.pushPaced(speech().pcm);
    await s.stream.flush();
    expect(finals(s.results).map((r) => r.text)).toEqual(texts);
    await s.stream.close();
  });

  it('warns at start-up about a model it does not know', () => {
    expect(createOpenAIEngine(options()).warnings).toBeUndefined();
    expect(createOpenAIEngine(options({ model: 'Systran/faster-whisper-small' })).warnings?.[0]).toMatch(/Whisper-compatible server/);
  });

  it('close aborts the requests in flight: nothing is delivered after it', async () => {
    fake.reset();
    fake.queue(...texts.map((text) => ({ text, delayMs: 300 })));
    const s = open();
    s.push(speech().pcm);
    await new Promise((r) => setTimeout(r, 50));
    await s.stream.close();
    await new Promise((r) => setTimeout(r, 500));
    expect(s.results).toEqual([]);
    expect(s.errors).toEqual([]);
  });
});

if (canSpeak) {
  describeEngineContract('openai (fake server)', async () => {
    // What it hears depends on every sample sent, so audio changed after push would show in the text.
    const checksum = (samples: Int16Array) => samples.reduce((h, v) => (h * 31 + v) >>> 0, 7);
    const server = await startFakeOpenAI({ hear: (q) => ({ text: `heard ${checksum(q.samples)}`, delayMs: q.index % 2 ? 5 : 60 }) });
    return {
      engine: createOpenAIEngine({ ...options(), baseURL: server.baseURL }),
      audio: speech().pcm,
      cleanup: () => server.close(),
    };
  });
}
