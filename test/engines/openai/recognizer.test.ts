import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ARTIFACTS } from '../../../src/engines/openai/map.js';
import type { OpenAIEngineOptions } from '../../../src/engines/openai/options.js';
import { buildPrompt, createOpenAIRecognizer, modelTraits } from '../../../src/engines/openai/recognizer.js';
import type { RecognizeOptions } from '../../../src/engines/kit/utterance-engine.js';
import { EngineError } from '../../../src/engines/types.js';
import { startFakeOpenAI, type FakeOpenAI } from '../../../src/testing/fake-openai/server.js';

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(() => fake.close());

const options = (over: Partial<OpenAIEngineOptions> = {}): OpenAIEngineOptions => ({
  apiKey: 'test-key', model: 'gpt-4o-mini-transcribe', baseURL: fake.baseURL, timeoutMs: 2000, maxRetries: 2,
  deadlineMs: 10_000, concurrency: 4, promptPrevious: true, artifacts: DEFAULT_ARTIFACTS, ...over,
});
/** 0.6 s of a 300 Hz tone: the fake hears what it is told, whatever the audio. */
const pcm = Int16Array.from({ length: 4800 }, (_, i) => Math.round(3000 * Math.sin((2 * Math.PI * 300 * i) / 8000)));
const recognizeOptions = (over: Partial<RecognizeOptions> = {}): RecognizeOptions => ({
  language: 'en-US', sampleRate: 8000, signal: new AbortController().signal, ...over,
});
const last = () => fake.requests[fake.requests.length - 1]!;

describe('OpenAI recognizer against a fake server', () => {
  it('streams with logprobs, temperature 0, ISO language, call-centre prompt; sends the audio as an 8 kHz WAV', async () => {
    fake.queue({ text: 'Hello, I need help.', probability: (_t, i) => (i === 0 ? 0.5 : 0.9) });
    const partials: string[] = [];
    const r = await createOpenAIRecognizer(options()).recognize(pcm, recognizeOptions({ onPartial: (t) => partials.push(t) }));
    expect(last()).toMatchObject({ model: 'gpt-4o-mini-transcribe', stream: true, include: ['logprobs'], temperature: 0, language: 'en', sampleRate: 8000, durationMs: 600 });
    expect(last().authorization).toBe('Bearer test-key');
    expect(last().samples).toEqual(pcm);
    expect(last().prompt).toMatch(/customer service phone call/);
    expect(r.text).toBe('Hello, I need help.');
    expect(r.words?.map((w) => w.text)).toEqual(['Hello,', 'I', 'need', 'help.']);
    expect(r.words?.[0]?.confidence).toBeCloseTo((0.5 + 0.9) / 2, 6); // tokens "Hell" and "o," (see fakeTokens)
    expect(r.confidence).toBeCloseTo((0.7 + 0.9 * 3) / 4, 6);
    expect(partials[partials.length - 1]).toBe('Hello, I need help.');
  });

  it('Zulu: no language field (the API refuses zu), a prompt in Zulu; phrases and the previous utterance in the prompt', async () => {
    await createOpenAIRecognizer(options()).recognize(pcm, recognizeOptions({ language: 'zu-ZA', phrases: ['Vodacom', 'Sawubona'], previousText: 'Ngiyabonga kakhulu.' }));
    expect(last().language).toBeUndefined();
    expect(last().prompt).toMatch(/^Le yingxoxo yocingo.*ngesiZulu\. Vodacom, Sawubona\. Ngiyabonga kakhulu\.$/);
    await createOpenAIRecognizer(options({ promptPrevious: false })).recognize(pcm, recognizeOptions({ language: 'de-DE', phrases: ['Zählerstand'], previousText: 'Guten Tag.' }));
    expect(last()).toMatchObject({ language: 'de', prompt: 'Zählerstand.' }); // no English prompt for German audio
  });

  it('whisper-1 and unknown models: verbose_json with word timestamps, no logprobs, not streamed', async () => {
    expect(modelTraits('whisper-1')).toEqual({ streams: false, logprobs: false, wordTimes: true });
    expect(modelTraits('gpt-4o-transcribe-2025-03-20')).toEqual({ streams: true, logprobs: true, wordTimes: false });
    const recognizer = createOpenAIRecognizer(options({ model: 'whisper-1' }));
    expect(recognizer.capabilities).toEqual({ wordTimes: true, wordConfidence: false, partials: false });
    fake.queue('Ring. Account closed today.');
    const r = await recognizer.recognize(pcm, recognizeOptions());
    expect(last()).toMatchObject({ stream: false, responseFormat: 'verbose_json', timestampGranularities: ['word'], include: [] });
    expect(r.text).toBe('Account closed today.');
    expect(r.words?.map((w) => [w.text, w.startMs, w.endMs])).toEqual([['Account', 150, 300], ['closed', 300, 450], ['today', 450, 600]]);
  });

  it('retries a 429 (honouring retry-after) and then succeeds', async () => {
    fake.fail({ kind: 'rate-limit', retryAfterMs: 50 }, 2);
    fake.queue('after the rate limit');
    const before = fake.requests.length;
    const r = await createOpenAIRecognizer(options()).recognize(pcm, recognizeOptions());
    expect(r.text).toBe('after the rate limit');
    expect(fake.requests.length - before).toBe(3);
  });

  it('a request that hangs times out and is retried; past the deadline the utterance fails (retryable)', async () => {
    fake.fail({ kind: 'hang' }, 1);
    fake.queue('after a timeout');
    const r = await createOpenAIRecognizer(options({ timeoutMs: 300 })).recognize(pcm, recognizeOptions());
    expect(r.text).toBe('after a timeout');

    fake.fail({ kind: 'hang' }, 10);
    const started = Date.now();
    const err = await createOpenAIRecognizer(options({ timeoutMs: 300, maxRetries: 5, deadlineMs: 1000 })).recognize(pcm, recognizeOptions()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect(err).toMatchObject({ kind: 'unavailable', retryable: true, message: 'transcription did not finish within 1000 ms' });
    expect(Date.now() - started).toBeLessThan(2500);
    fake.reset();
  });

  it('maps refusals: a bad key and an exhausted quota are final, 5xx after the retries is not', async () => {
    const rejected = await createOpenAIRecognizer(options({ apiKey: 'wrong' })).recognize(pcm, recognizeOptions()).catch((e: unknown) => e);
    expect(rejected).toMatchObject({ kind: 'auth', retryable: false });
    expect((rejected as Error).message).not.toContain('wrong'); // no secret in the message
    // Every request answers so while the quota is exhausted; retries (the SDK's, for any 429) are off here to save time.
    fake.fail({ kind: 'insufficient-quota' });
    expect(await createOpenAIRecognizer(options({ maxRetries: 0 })).recognize(pcm, recognizeOptions()).catch((e: unknown) => e)).toMatchObject({ kind: 'quota', retryable: false });
    fake.fail({ kind: 'server-error' }, 2);
    expect(await createOpenAIRecognizer(options({ maxRetries: 1 })).recognize(pcm, recognizeOptions()).catch((e: unknown) => e)).toMatchObject({ kind: 'unavailable', retryable: true });
    fake.fail({ kind: 'bad-request', code: 'unsupported_language' });
    expect(await createOpenAIRecognizer(options()).recognize(pcm, recognizeOptions()).catch((e: unknown) => e)).toMatchObject({ kind: 'bad-input', retryable: false });
  });

  it('an aborted recognition stops at once', async () => {
    fake.fail({ kind: 'hang' }, 1);
    const controller = new AbortController();
    const pending = createOpenAIRecognizer(options()).recognize(pcm, recognizeOptions({ signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    expect(await pending.catch((e: unknown) => e)).toBeInstanceOf(EngineError);
  });

  it('builds short prompts: phrases capped, the end of a long previous utterance kept', () => {
    expect(buildPrompt(undefined, undefined, undefined)).toBeUndefined();
    expect(buildPrompt('Base.', ['A', ' ', 'B'], undefined)).toBe('Base. A, B.');
    const long = buildPrompt('Base.', Array.from({ length: 200 }, (_, i) => `term${i}`), 'x'.repeat(1000) + ' the end');
    expect(long!.length).toBeLessThanOrEqual(600);
    expect(long!.endsWith(' the end')).toBe(true);
  });
});
