/**
 * The `local` engine end to end: a stereo flite call in µ-law, split into its two channels frame
 * by frame as the session does, each channel its own stream.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interleave, splitChannelsInto } from '../../../src/audio/frames.js';
import { createLocalEngine } from '../../../src/engines/local/index.js';
import type { RecognitionResult, SpeechEngine } from '../../../src/engines/types.js';
import { describeEngineContract } from '../contract.js';
import { concatPcm, lineNoise } from '../kit/speech.js';
import { offlineOptions, skipReason, speakAll } from './helpers.js';

const RATE = 8000;
/** Turns of the call: who speaks, what, the words to find, and when (ms). */
const turns = [
  { channel: 1, at: 500, text: 'thank you for calling customer service my name is sarah', keys: ['calling', 'sarah'] },
  { channel: 0, at: 5000, text: 'I need to cancel my order', keys: ['cancel', 'order'] },
  { channel: 1, at: 7500, text: 'how can I help you today', keys: ['help', 'today'] },
  { channel: 0, at: 10000, text: 'my phone number is eight zero zero five five five nine', keys: ['phone', 'zero', 'nine'] },
  { channel: 1, at: 14000, text: 'I will transfer you to the billing department', keys: ['transfer', 'billing'] },
];
const CALL_MS = 18000;

/** Both channels: line noise, with each turn's speech laid in at its time. */
function stereoCall(): { channels: Int16Array[]; spans: { channel: number; startMs: number; endMs: number; keys: string[] }[] } {
  const speech = speakAll(turns.map((t) => t.text));
  const channels = [lineNoise((CALL_MS * RATE) / 1000, 1), lineNoise((CALL_MS * RATE) / 1000, 2)];
  const spans = turns.map((turn, i) => {
    const pcm = speech[i]!;
    const at = (turn.at * RATE) / 1000;
    channels[turn.channel]!.set(pcm, at);
    return { channel: turn.channel, startMs: turn.at, endMs: turn.at + (pcm.length * 1000) / RATE, keys: turn.keys };
  });
  return { channels, spans };
}

describe.skipIf(skipReason !== undefined)('local engine: a stereo call', () => {
  let engine: SpeechEngine;
  beforeAll(() => {
    engine = createLocalEngine({ ...offlineOptions!, concurrency: 2 }, pino({ level: 'silent' }));
  });
  afterAll(() => engine?.close?.());

  it('declares what it is', () => {
    expect(engine.name).toBe('local');
    expect(engine.languages).toEqual(['en-US', 'en']);
    expect(engine.capabilities).toMatchObject({ interimResults: false, wordTimes: true, wordConfidence: true });
  });

  it('finals carry the key words on the right channel, at the right offsets', async () => {
    const { channels, spans } = stereoCall();
    const wire = interleave(channels, 'PCMU');
    const results: RecognitionResult[][] = [[], []];
    const errors: Error[] = [];
    const log = pino({ level: 'silent' });
    const streams = [0, 1].map((c) =>
      engine.openStream({ language: 'en-US', sampleRate: RATE, interimResults: false, log, onResult: (r) => results[c]!.push(r), onError: (e) => errors.push(e) }),
    );
    // 20 ms stereo µ-law frames, decoded into reused arrays as the session does.
    const scratch = [new Int16Array(160), new Int16Array(160)];
    for (let i = 0; i < wire.length; i += 320) {
      const n = splitChannelsInto(wire.subarray(i, i + 320), 'PCMU', 2, scratch);
      streams.forEach((s, c) => s.push(scratch[c]!.subarray(0, n)));
    }
    await Promise.all(streams.map((s) => s.flush()));
    await Promise.all(streams.map((s) => s.close()));
    expect(errors).toEqual([]);

    for (const c of [0, 1]) {
      const finals = results[c]!.filter((r) => r.isFinal && r.text !== '');
      const expected = spans.filter((s) => s.channel === c);
      expect(finals).toHaveLength(expected.length);
      finals.forEach((final, i) => {
        const span = expected[i]!;
        expect(final.text.split(' ')).toEqual(expect.arrayContaining(span.keys));
        expect(Math.abs(final.startMs - span.startMs)).toBeLessThanOrEqual(500);
        expect(Math.abs(final.endMs - span.endMs)).toBeLessThanOrEqual(500);
        expect(Math.abs(final.words![0]!.startMs - span.startMs)).toBeLessThanOrEqual(500);
        expect(Math.abs(final.words!.at(-1)!.endMs - span.endMs)).toBeLessThanOrEqual(500);
        expect(final.confidence).toBeGreaterThan(0);
      });
      // Nothing of the other side's words leaks in (each channel is its own stream).
      const others = spans.filter((s) => s.channel !== c).flatMap((s) => s.keys);
      expect(finals.flatMap((f) => f.text.split(' ')).filter((w) => others.includes(w) && !expected.some((s) => s.keys.includes(w)))).toEqual([]);
    }
  });
});

if (!skipReason) {
  describeEngineContract('local (pocketsphinx)', () => {
    const engine = createLocalEngine({ ...offlineOptions!, concurrency: 1 }, pino({ level: 'silent' }));
    const [speech] = speakAll(['good morning my name is john']);
    return { engine, audio: concatPcm(lineNoise(4000, 3), speech!, lineNoise(8000, 4)), cleanup: () => engine.close!() };
  });
}
