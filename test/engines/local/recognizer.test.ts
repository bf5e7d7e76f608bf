/**
 * Real recognition by pocketsphinx of flite speech through µ-law, as the utterance buffer hands
 * it over: 200 ms of line noise before and after the speech (its pre- and post-roll).
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalRecognizer, type LocalRecognizer } from '../../../src/engines/local/recognizer.js';
import { concatPcm, lineNoise } from '../kit/speech.js';
import { offlineOptions, skipReason, speakAll } from './helpers.js';

const sentences = [
  { text: 'good morning my name is john', keys: ['morning', 'name', 'john'] },
  { text: 'my phone number is eight zero zero five five five nine', keys: ['phone', 'number', 'zero', 'five', 'nine'] },
  { text: 'I need to cancel my order', keys: ['need', 'cancel', 'order'] },
  { text: 'the total comes to forty dollars', keys: ['total', 'forty', 'dollars'] },
];
const ROLL = 1600; // 200 ms at 8 kHz

// The one line that says why real recognition is not tested here (engine.test.ts skips silently).
if (skipReason) console.warn(skipReason);

describe.skipIf(skipReason !== undefined)('offline recognizer (pocketsphinx)', () => {
  let recognizer: LocalRecognizer;
  let utterances: Int16Array[];
  const oneByOne: string[] = [];
  const options = (language = 'en-US') => ({ language, sampleRate: 8000, signal: new AbortController().signal });

  beforeAll(() => {
    recognizer = createLocalRecognizer({ ...offlineOptions!, concurrency: 2 }, pino({ level: 'silent' }));
    utterances = speakAll(sentences.map((s) => s.text)).map((speech, i) => concatPcm(lineNoise(ROLL, i + 1), speech, lineNoise(ROLL, i + 11)));
  });
  afterAll(() => recognizer?.close());

  it('recognizes the key words, with word times inside the utterance, in order, and confidences in [0, 1]', async () => {
    for (const [i, { keys }] of sentences.entries()) {
      const pcm = utterances[i]!;
      const durationMs = pcm.length / 8;
      const result = await recognizer.recognize(pcm, options());
      oneByOne.push(result.text);
      const words = result.words ?? [];
      expect(result.text.split(' ')).toEqual(expect.arrayContaining(keys));
      expect(result.text).toBe(words.map((w) => w.text).join(' '));
      expect(result.language).toBe('en-US');
      expect(result.confidence).toBeGreaterThan(0);
      expect(result.confidence).toBeLessThanOrEqual(1);
      // The speech lies between the pre- and post-roll: the word times say so, give or take a frame or two.
      expect(words[0]!.startMs).toBeGreaterThanOrEqual(120);
      expect(words[0]!.startMs).toBeLessThanOrEqual(350);
      expect(words.at(-1)!.endMs).toBeGreaterThanOrEqual(durationMs - 350);
      expect(words.at(-1)!.endMs).toBeLessThanOrEqual(durationMs);
      for (const [j, w] of words.entries()) {
        expect(w.endMs).toBeGreaterThanOrEqual(w.startMs);
        if (j > 0) expect(w.startMs).toBeGreaterThanOrEqual(words[j - 1]!.endMs);
        expect(w.confidence).toBeGreaterThanOrEqual(0);
        expect(w.confidence).toBeLessThanOrEqual(1);
      }
    }
  });

  it('line noise alone is an empty utterance', async () => {
    await expect(recognizer.recognize(lineNoise(4800, 5), options())).resolves.toEqual({ text: '', words: [], language: 'en-US' });
  });

  it('recognizes English whatever language is asked for (the session decides what to do about it)', async () => {
    const result = await recognizer.recognize(utterances[0]!, options('de-DE'));
    expect(result).toMatchObject({ language: 'en-US' });
    expect(result.text).toContain('morning');
  });

  it('serves N+1 concurrent utterances with N warm processes, the same as one by one', async () => {
    const together = await Promise.all(utterances.slice(0, 3).map((pcm) => recognizer.recognize(pcm, options())));
    expect(together.map((r) => r.text)).toEqual(oneByOne.slice(0, 3));
    expect(recognizer.stats.started).toBe(2);
  });
});
