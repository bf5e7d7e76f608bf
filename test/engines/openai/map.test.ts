import { describe, expect, it } from 'vitest';
import { createArtifactFilter, DEFAULT_ARTIFACTS, joinWords, scoreWords, utteranceConfidence, type TokenLogprob } from '../../../src/engines/openai/map.js';

const lp = (token: string, p: number, bytes?: number[]): TokenLogprob => ({ token, logprob: Math.log(p), ...(bytes ? { bytes } : {}) });

describe('confidence from logprobs, aligned by text', () => {
  it('a word is the mean of its tokens; punctuation tokens belong to the word they touch', () => {
    // As gpt-4o-transcribe tokenizes: "Hello, my name is Siobhan."
    const words = scoreWords('Hello, my name is Siobhan.', [
      lp('Hello', 0.9), lp(',', 0.7), lp(' my', 1), lp(' name', 0.8), lp(' is', 0.6), lp(' Si', 0.5), lp('ob', 0.2), lp('han', 0.5), lp('.', 1),
    ]);
    expect(words.map((w) => w.text)).toEqual(['Hello,', 'my', 'name', 'is', 'Siobhan.']);
    const c = words.map((w) => w.confidence);
    expect(c[0]).toBeCloseTo(0.8, 10); // (0.9 + 0.7) / 2, arithmetic mean of probabilities
    expect(c[1]).toBeCloseTo(1, 10);
    expect(c[4]).toBeCloseTo((0.5 + 0.2 + 0.5 + 1) / 4, 10);
    expect(utteranceConfidence(words)).toBeCloseTo((0.8 + 1 + 0.8 + 0.6 + 0.55) / 5, 10);
  });

  it('a token that spans two words counts for both; a token holding half a character aligns by its bytes', () => {
    const words = scoreWords('ok thanks', [lp('ok th', 0.5), lp('anks', 1)]);
    expect(words.map((w) => w.confidence)).toEqual([0.5, 0.75]);
    // "Grüße": ü is two bytes, split across tokens (the token strings are not valid UTF-8).
    const bytes = [...Buffer.from('Grüße ja', 'utf8')];
    const split = scoreWords('Grüße ja', [lp('Gr\ufffd', 0.4, bytes.slice(0, 3)), lp('\ufffdße', 0.8, bytes.slice(3, 7)), lp(' ja', 1, bytes.slice(7))]);
    expect(split[0]!.confidence).toBeCloseTo(0.6, 10);
    expect(split[1]!.confidence).toBe(1);
  });

  it('tokens the final text does not contain are skipped; words without tokens have no confidence', () => {
    const words = scoreWords('one two three', [lp(' one', 0.5), lp(' zzz', 0.1), lp(' three', 0.9)]);
    expect(words.map((w) => w.confidence)).toEqual([0.5, undefined, 0.9]);
    expect(utteranceConfidence(words)).toBeCloseTo(0.7, 10);
    expect(utteranceConfidence(scoreWords('no logprobs', undefined))).toBeUndefined();
  });
});

describe('artifact filter', () => {
  const filter = createArtifactFilter(DEFAULT_ARTIFACTS);
  const run = (text: string) => joinWords(filter(scoreWords(text, undefined)));

  it('removes whole-word artifacts at the start and end, case-insensitive, punctuation aside', () => {
    expect(run('Ring. Hello, how can I help?')).toBe('Hello, how can I help?');
    expect(run('RING ring Beep. Yes.')).toBe('Yes.');
    expect(run('Context: my card was declined')).toBe('my card was declined');
    expect(run('[beep] Thanks. Beep.')).toBe('Thanks.');
  });

  it('never eats a real word: "ringing" stays, and so does a ring inside a sentence', () => {
    expect(run('ringing in my ears')).toBe('ringing in my ears');
    expect(run('Beeping noises')).toBe('Beeping noises');
    expect(run("I'll give you a ring tomorrow")).toBe("I'll give you a ring tomorrow");
    expect(run('context matters')).toBe('context matters');
  });

  it('an utterance of artifacts only comes back empty; the list is configurable', () => {
    expect(run('Ring.')).toBe('');
    expect(run('beep beep')).toBe('');
    const custom = createArtifactFilter(['Begin']);
    expect(joinWords(custom(scoreWords('begin. Ring.', undefined)))).toBe('Ring.');
    expect(joinWords(createArtifactFilter([])(scoreWords('Ring.', undefined)))).toBe('Ring.');
  });
});
