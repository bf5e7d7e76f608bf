/**
 * The Google synthesizer through the real SDK against the fake Text-to-Speech gRPC server, whose
 * audio is real speech by flite: the WAV header is stripped, errors map to SynthesisError.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMulaw } from '../../src/audio/mulaw.js';
import { writeWav } from '../../src/audio/wav.js';
import { createGoogleSynthesizer, mulawFromAnswer } from '../../src/synthesis/google/index.js';
import { SynthesisError, type SpeechSynthesizer } from '../../src/synthesis/types.js';
import { startFakeGoogleTts, validateTtsRequest, type FakeGoogleTts } from '../../src/testing/fake-google-tts/server.js';
import { collect, noFlite, request, rms, startsWithRiff } from './helpers.js';

describe('the WAV header of an answer', () => {
  it('is found by its chunks, whatever its length (fmt of 18 bytes, fact, LIST); raw µ-law passes as it is', () => {
    const data = Uint8Array.from({ length: 801 }, (_, i) => i & 0xff);
    const wav = writeWav({ sampleRate: 8000, channels: 1, format: 'PCMU', data });
    expect(wav.length - data.length).toBeGreaterThan(44);
    expect(mulawFromAnswer(wav)).toEqual(data);
    // A LIST chunk between the fact chunk and the data, as some encoders write.
    const list = Buffer.concat([Buffer.from('LIST'), Buffer.from([4, 0, 0, 0]), Buffer.from('INFO')]);
    const headerEnd = 12 + (8 + 18) + (8 + 4);
    const withList = new Uint8Array(Buffer.concat([wav.subarray(0, headerEnd), list, wav.subarray(headerEnd)]));
    expect(Buffer.from(withList.subarray(headerEnd + 12, headerEnd + 16)).toString('latin1')).toBe('data');
    expect(new Uint8Array(mulawFromAnswer(withList))).toEqual(data);
    expect(mulawFromAnswer(data)).toEqual(data);
  });

  it('16-bit PCM answers are converted to 8 kHz µ-law', () => {
    const pcm = Int16Array.from({ length: 1600 }, (_, i) => Math.round(5000 * Math.sin(i / 5)));
    const wav = writeWav({ sampleRate: 16_000, channels: 1, format: 'L16', data: new Uint8Array(pcm.buffer) });
    expect(mulawFromAnswer(wav).length).toBe(800);
  });
});

describe('fake request validation', () => {
  it('refuses what the real service refuses', () => {
    const ok = { input: { text: 'hi' }, voice: { languageCode: 'en-US' }, audioConfig: { audioEncoding: 'MULAW', sampleRateHertz: 8000 } };
    expect(validateTtsRequest(ok)).toBeUndefined();
    expect(validateTtsRequest({ ...ok, input: { text: '' } })).toMatch(/input.text/);
    expect(validateTtsRequest({ ...ok, voice: {} })).toMatch(/language_code/);
    expect(validateTtsRequest({ ...ok, audioConfig: {} })).toMatch(/audio encoding/);
    expect(validateTtsRequest({ ...ok, input: { text: 'é'.repeat(2501) } })).toMatch(/5000 bytes/);
  });
});

if (noFlite) console.warn(noFlite);

describe.skipIf(noFlite !== undefined)('Google synthesizer against the fake service', () => {
  let fake: FakeGoogleTts;
  let google: SpeechSynthesizer;
  beforeAll(async () => {
    fake = await startFakeGoogleTts();
    google = createGoogleSynthesizer({ endpoint: fake.address, insecure: true, timeoutMs: 5000 });
  });
  afterAll(async () => {
    await google?.close?.();
    await fake?.close();
  });

  it('asks for 8 kHz MULAW in the language (voice name when given) and yields the data chunk only', async () => {
    const { chunks, audio } = await collect(google, request('Thank you for calling, how can I help?'));
    const sent = fake.requests.at(-1)!;
    expect(sent).toMatchObject({ input: { text: 'Thank you for calling, how can I help?' }, voice: { languageCode: 'en-US' }, audioConfig: { audioEncoding: 'MULAW', sampleRateHertz: 8000 } });
    expect(sent.voice?.name).toBeUndefined();
    expect(startsWithRiff(audio)).toBe(false);
    expect(audio.length).toBe(fake.answeredDataBytes.at(-1));
    expect(chunks.length).toBeGreaterThan(1);
    expect(audio.length / 8000).toBeGreaterThan(1.5);
    expect(rms(decodeMulaw(audio))).toBeGreaterThan(300);

    await collect(google, request('Hello.', { voice: 'en-GB-Standard-A', language: 'en-GB' }));
    expect(fake.requests.at(-1)!.voice).toEqual({ languageCode: 'en-GB', name: 'en-GB-Standard-A' });
  });

  it('maps refusals to final errors and outages to retryable ones, without the prompt text', async () => {
    fake.rejectAll({ code: grpc.status.PERMISSION_DENIED });
    let err = await collect(google, request('secret account number 1234')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SynthesisError);
    expect(err).toMatchObject({ retryable: false, message: expect.stringMatching(/PERMISSION_DENIED/) });
    expect((err as Error).message).not.toMatch(/secret/);

    fake.rejectAll({ code: grpc.status.UNAVAILABLE });
    err = await collect(createGoogleSynthesizer({ endpoint: fake.address, insecure: true, timeoutMs: 1500 }), request('hello')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SynthesisError);
    expect(err).toMatchObject({ retryable: true });
    expect((err as Error).message).toMatch(/UNAVAILABLE|DEADLINE/);
    fake.rejectAll(null);

    err = await collect(google, request('hello', { language: 'english please' })).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false, message: expect.stringMatching(/INVALID_ARGUMENT.*language_code/) });
  });

  it('one failure then success: the next prompt is served (nothing sticks)', async () => {
    fake.failNext({ code: grpc.status.RESOURCE_EXHAUSTED });
    const err = await collect(google, request('hello')).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, message: expect.stringMatching(/RESOURCE_EXHAUSTED/) });
    expect((await collect(google, request('hello'))).audio.length).toBeGreaterThan(1000);
  });

  it('an abort while waiting for the answer ends the iterator quietly', async () => {
    const slowFake = await startFakeGoogleTts({ delayMs: 2000 });
    const slow = createGoogleSynthesizer({ endpoint: slowFake.address, insecure: true, timeoutMs: 5000 });
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      const started = Date.now();
      const { chunks } = await collect(slow, request('hello there', { signal: controller.signal }));
      expect(chunks).toEqual([]);
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      await slow.close?.();
      await slowFake.close();
    }
  });
});
