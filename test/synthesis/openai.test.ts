/**
 * The OpenAI synthesizer through the real SDK against the fake server's `/v1/audio/speech`:
 * 24 kHz PCM streamed in odd-sized pieces, decimated to 8 kHz µ-law as it arrives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMulaw, encodeMulaw } from '../../src/audio/mulaw.js';
import { decimate } from '../../src/audio/resample.js';
import { createPcm16Reader } from '../../src/synthesis/common.js';
import { createOpenAISynthesizer, type OpenAISynthesizerOptions } from '../../src/synthesis/openai/index.js';
import { SynthesisError } from '../../src/synthesis/types.js';
import { startFakeOpenAI, type FakeOpenAI } from '../../src/testing/fake-openai/server.js';
import { collect, noFlite, request, rms, startsWithRiff } from './helpers.js';

describe('PCM16 bytes in arbitrary pieces', () => {
  it('keeps an odd byte for the next piece', () => {
    const samples = Int16Array.of(1, -2, 300, -32768, 32767, 12345);
    const bytes = new Uint8Array(samples.buffer);
    for (const cuts of [[1, 1, 1], [3, 4, 5], [11]]) {
      const reader = createPcm16Reader();
      const out: number[] = [];
      let at = 0;
      for (const n of [...cuts, bytes.length]) {
        out.push(...reader.push(bytes.subarray(at, Math.min(bytes.length, at + n))));
        at = Math.min(bytes.length, at + n);
      }
      expect(Int16Array.from(out)).toEqual(samples);
    }
  });
});

if (noFlite) console.warn(noFlite);

describe.skipIf(noFlite !== undefined)('OpenAI synthesizer against the fake server', () => {
  let fake: FakeOpenAI;
  const options = (over: Partial<OpenAISynthesizerOptions> = {}): OpenAISynthesizerOptions => ({
    apiKey: 'test-key', baseURL: fake.baseURL, model: 'gpt-4o-mini-tts', voice: 'alloy', timeoutMs: 3000, maxRetries: 1, ...over,
  });
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterAll(() => fake?.close());

  it('streams, decimates to 8 kHz µ-law as the pieces arrive, and matches a one-shot conversion', async () => {
    const text = 'Your order has shipped and will arrive on Tuesday.';
    const { chunks, audio } = await collect(createOpenAISynthesizer(options()), request(text));
    expect(fake.speechRequests.at(-1)!.body).toEqual({ model: 'gpt-4o-mini-tts', voice: 'alloy', input: text, response_format: 'pcm' });
    expect(fake.speechRequests.at(-1)!.authorization).toBe('Bearer test-key');
    expect(startsWithRiff(audio)).toBe(false);
    expect(chunks.length).toBeGreaterThan(3);
    expect(audio.length / 8000).toBeGreaterThan(2);
    expect(rms(decodeMulaw(audio))).toBeGreaterThan(300);

    // The same speech fetched whole, decimated at once: identical samples, so the odd
    // 4801-byte pieces lost or shifted nothing.
    const whole = await fetch(`${fake.baseURL}/audio/speech`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-key', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', voice: 'alloy', input: text, response_format: 'pcm' }),
    }).then((r) => r.arrayBuffer());
    const pcm24 = new Int16Array(whole);
    const expected = decimate(pcm24, 24_000, 8000);
    expect(audio.length).toBe(expected.length);
    expect(new Uint8Array(audio)).toEqual(encodeMulaw(expected));
  });

  it('uses the voice asked for', async () => {
    await collect(createOpenAISynthesizer(options()), request('Hello.', { voice: 'coral' }));
    expect(fake.speechRequests.at(-1)!.body['voice']).toBe('coral');
  });

  it('maps errors: a bad key and a refused request are final, outages retryable (after the SDK retries)', async () => {
    let err = await collect(createOpenAISynthesizer(options({ apiKey: 'wrong' })), request('hello')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SynthesisError);
    expect(err).toMatchObject({ retryable: false, message: expect.stringMatching(/401/) });

    fake.fail({ kind: 'bad-request' });
    err = await collect(createOpenAISynthesizer(options()), request('my secret pin is 1234')).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false, message: expect.stringMatching(/400/) });
    expect((err as Error).message).not.toMatch(/secret/);

    fake.fail({ kind: 'server-error' }, 2);
    const before = fake.received;
    err = await collect(createOpenAISynthesizer(options({ maxRetries: 1 })), request('hello')).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, message: expect.stringMatching(/500/) });
    expect(fake.received - before).toBe(2);

    fake.fail({ kind: 'rate-limit', retryAfterMs: 10 });
    expect((await collect(createOpenAISynthesizer(options()), request('hello'))).audio.length).toBeGreaterThan(1000);
  });

  it('the fake validates the body as OpenAI does', async () => {
    const post = (body: unknown) =>
      fetch(`${fake.baseURL}/audio/speech`, { method: 'POST', headers: { authorization: 'Bearer test-key' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    for (const [body, param] of [[{ voice: 'alloy', input: 'x' }, 'model'], [{ model: 'm', voice: 'alloy' }, 'input'], [{ model: 'm', input: 'x' }, 'voice'], [{ model: 'm', voice: 'a', input: 'x', response_format: 'ogg' }, 'response_format']] as const) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error', param } });
    }
    expect((await post('{not json')).status).toBe(400);
  });

  it('a connection dropped halfway is a retryable error after the audio already yielded', async () => {
    fake.fail({ kind: 'truncate' });
    let got = 0;
    const err = await (async () => {
      for await (const chunk of createOpenAISynthesizer(options()).synthesize(request('This answer will be cut off in the middle of the sentence.'))) got += chunk.length;
    })().catch((e: unknown) => e);
    expect(got).toBeGreaterThan(0);
    expect(err).toMatchObject({ retryable: true });
  });

  it('an abort mid-stream ends the iterator quietly; a hung server times out (retryable)', async () => {
    const controller = new AbortController();
    let got = 0;
    for await (const chunk of createOpenAISynthesizer(options()).synthesize(request('A long answer that we will interrupt as soon as it starts playing.', { signal: controller.signal }))) {
      got += chunk.length;
      controller.abort();
    }
    expect(got).toBeGreaterThan(0);

    fake.fail({ kind: 'hang' });
    const err = await collect(createOpenAISynthesizer(options({ timeoutMs: 300, maxRetries: 0 })), request('hello')).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, message: expect.stringMatching(/in time/) });
  });
});
