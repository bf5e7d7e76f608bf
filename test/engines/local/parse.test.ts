import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cleanWord, parseDecoderLine, toRecognition, type DecoderLine } from '../../../src/engines/local/parse.js';

type WordLine = Extract<DecoderLine, { kind: 'word' }>;

/** Recorded from pocketsphinx_batch 0.8+5prealpha (Debian 12): -hyp and -ctm on one pipe. */
const recorded = readFileSync(new URL('../../fixtures/local/batch-output.txt', import.meta.url), 'utf8').split('\n');

function wordsOf(uttId: string): WordLine[] {
  return recorded.map(parseDecoderLine).filter((l): l is WordLine => l?.kind === 'word' && l.uttId === uttId);
}

describe('pocketsphinx_batch output', () => {
  it('reads hypothesis lines as the number of word lines to expect', () => {
    const hyps = recorded.map(parseDecoderLine).filter((l) => l?.kind === 'hyp') as Extract<DecoderLine, { kind: 'hyp' }>[];
    expect(hyps).toEqual([
      { kind: 'hyp', uttId: 'us1', wordCount: 12 },
      { kind: 'hyp', uttId: 'up', wordCount: 8 },
      { kind: 'hyp', uttId: 'un', wordCount: 0 },
    ]);
    for (const h of hyps) expect(wordsOf(h.uttId)).toHaveLength(h.wordCount);
  });

  it('reads CTM lines: seconds from the utterance start, and the posterior', () => {
    expect(wordsOf('up')[4]).toEqual({ kind: 'word', uttId: 'up', word: 'pay', startSec: 1.17, durationSec: 0.23, posterior: 0.986 });
  });

  it('ignores everything else', () => {
    for (const line of ['', 'INFO: batch.c(729): Decoding', 'garbage (', 'u1 1 x 0.2 w 0.5']) expect(parseDecoderLine(line)).toBeUndefined();
  });

  it('turns an utterance into text, word times in ms and confidences', () => {
    const r = toRecognition(wordsOf('up'), 2500, 'en-US');
    expect(r.text).toBe('I would like to pay my bill today');
    expect(r.language).toBe('en-US');
    expect(r.words?.[0]).toEqual({ text: 'I', startMs: 400, endMs: 550, confidence: 0.982 });
    expect(r.words?.[7]).toEqual({ text: 'today', startMs: 1940, endMs: 2330, confidence: 0.065 });
    const mean = (0.982 + 1 + 1 + 0.868 + 0.986 + 1 + 0.137 + 0.065) / 8;
    expect(r.confidence).toBeCloseTo(mean, 6);
  });

  it('an utterance without words is empty text', () => {
    expect(toRecognition(wordsOf('un'), 600, 'en-US')).toEqual({ text: '', words: [], language: 'en-US' });
  });

  it('drops fillers and pronunciation markers, clamps times into the utterance and keeps them in order', () => {
    const line = (word: string, startSec: number, durationSec: number, posterior: number): WordLine => ({ kind: 'word', uttId: 'u', word, startSec, durationSec, posterior });
    const r = toRecognition(
      [line('<s>', 0, 0.1, 1), line('<sil>', 0.1, 0.2, 1), line('to(3)', 0.3, 0.1, 1.2), line('[NOISE]', 0.4, 0.1, 1), line('++BREATH++', 0.5, 0.1, 1),
        line('i', 0.2, 0.1, Number.NaN), line('go', 0.6, 0.9, 0.5), line('</s>', 1.5, 0.1, 1)],
      1000,
      'en-US',
    );
    expect(r.text).toBe('to I go');
    expect(r.words).toEqual([
      { text: 'to', startMs: 300, endMs: 400, confidence: 1 },
      { text: 'I', startMs: 300, endMs: 300, confidence: 0 },
      { text: 'go', startMs: 600, endMs: 1000, confidence: 0.5 },
    ]);
  });

  it('cleans words', () => {
    expect(cleanWord('read(2)')).toBe('read');
    expect(cleanWord("i'm")).toBe("I'm");
    expect(cleanWord("i'd(2)")).toBe("I'd");
    expect(cleanWord('it')).toBe('it');
    expect(cleanWord('+SPN+')).toBeUndefined();
    expect(cleanWord('</s>')).toBeUndefined();
  });
});
