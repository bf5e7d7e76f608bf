import { describe, expect, it } from 'vitest';
import type { RecognitionResult } from '../../src/engines/types.js';
import { parseDuration } from '../../src/protocol/duration.js';
import {
  DEFAULT_CONFIDENCE,
  buildTranscriptEntity,
  estimateEntitySize,
  splitLongResult,
} from '../../src/transcript/builder.js';
import type { TranscriptEntity, TranscriptToken } from '../../src/transcript/types.js';

const identity = (ms: number): number => ms / 1000;
// A 5 s gap (e.g. a discard) declared after 2 s of engine audio.
const withGap = (ms: number): number => ms / 1000 + (ms >= 2000 ? 5 : 0);

function build(result: RecognitionResult, extra: Partial<Parameters<typeof buildTranscriptEntity>[0]> = {}): TranscriptEntity {
  return buildTranscriptEntity({
    result,
    utteranceId: 'a4f1c3e2-0000-4000-8000-000000000001',
    channelId: 1,
    language: 'en-US',
    toStreamSeconds: identity,
    ...extra,
  });
}

function tokensOf(entity: TranscriptEntity): TranscriptToken[] {
  return entity.data.alternatives[0]?.interpretations[0]?.tokens ?? [];
}

const sec = (d: string): number => {
  const v = parseDuration(d);
  if (v === undefined) throw new Error(`bad duration ${d}`);
  return v;
};

/** Offsets strictly increasing, inside the span, ends not past the span end. */
function expectValidTokens(entity: TranscriptEntity): void {
  const start = sec(entity.data.offset);
  const end = start + sec(entity.data.duration);
  let prev = -1;
  for (const t of tokensOf(entity)) {
    const o = sec(t.offset);
    expect(o).toBeGreaterThan(prev);
    expect(o).toBeGreaterThanOrEqual(start - 1e-9);
    expect(o).toBeLessThanOrEqual(end + 1e-9);
    expect(sec(t.duration)).toBeGreaterThanOrEqual(0);
    expect(o + sec(t.duration)).toBeLessThanOrEqual(end + 1e-6);
    expect(t.confidence).toBeGreaterThanOrEqual(0);
    expect(t.confidence).toBeLessThanOrEqual(1);
    prev = o;
  }
}

describe('buildTranscriptEntity', () => {
  it('maps the span and word times through the timeline, across a gap', () => {
    const entity = build(
      {
        isFinal: true,
        text: 'Hello there, world.',
        confidence: 0.8,
        startMs: 1100,
        endMs: 2700,
        words: [
          { text: 'Hello', startMs: 1100, endMs: 1500, confidence: 0.95 },
          { text: 'there,', startMs: 1500, endMs: 1900 },
          { text: 'world.', startMs: 2100, endMs: 2700, confidence: 0.7 },
        ],
      },
      { toStreamSeconds: withGap },
    );
    expect(entity.type).toBe('transcript');
    expect(entity.data.offset).toBe('PT1.1S');
    expect(entity.data.duration).toBe('PT6.6S'); // 7.7 - 1.1
    const tokens = tokensOf(entity);
    expect(tokens.map((t) => t.value)).toEqual(['Hello', 'there,', 'world.']);
    expect(tokens.map((t) => t.offset)).toEqual(['PT1.1S', 'PT1.5S', 'PT7.1S']);
    expect(tokens.map((t) => t.duration)).toEqual(['PT0.4S', 'PT0.4S', 'PT0.6S']);
    expect(tokens.map((t) => t.confidence)).toEqual([0.95, 0.8, 0.7]);
    expect(tokens.every((t) => t.type === 'word' && t.language === 'en-US')).toBe(true);
    const alt = entity.data.alternatives[0];
    expect(alt?.confidence).toBe(0.8);
    expect(alt?.languages).toEqual(['en-US']);
    expect(alt?.interpretations[0]?.type).toBe('display');
    expect(alt?.interpretations[0]?.transcript).toBe('Hello there, world.');
    expectValidTokens(entity);
  });

  it('makes colliding and out-of-span word offsets unique and contained', () => {
    const entity = build({
      isFinal: true,
      text: 'a b c d e f',
      startMs: 1000,
      endMs: 2000,
      words: [
        { text: 'a', startMs: 500, endMs: 900 }, // before the span
        { text: 'b', startMs: 1200, endMs: 1100 }, // end before start
        { text: 'c', startMs: 1200, endMs: 1300 }, // collides with b
        { text: 'd', startMs: 1200, endMs: 1300 },
        { text: 'e', startMs: 2500, endMs: 2600 }, // after the span
        { text: 'f', startMs: 2500, endMs: 2600 },
      ],
    });
    expectValidTokens(entity);
    expect(tokensOf(entity).map((t) => t.offset)).toEqual(['PT1S', 'PT1.2S', 'PT1.201S', 'PT1.202S', 'PT1.999S', 'PT2S']);
  });

  it('stretches a degenerate span just enough for unique offsets', () => {
    const entity = build({
      isFinal: true,
      text: 'one two three',
      startMs: 500,
      endMs: 500,
      words: ['one', 'two', 'three'].map((text) => ({ text, startMs: 500, endMs: 500 })),
    });
    expect(entity.data.duration).toBe('PT0.002S');
    expectValidTokens(entity);
  });

  it('survives NaN times and NaN confidences', () => {
    const entity = build({
      isFinal: true,
      text: 'x y',
      confidence: Number.NaN,
      startMs: 0,
      endMs: 1000,
      words: [
        { text: 'x', startMs: Number.NaN, endMs: Number.NaN, confidence: Number.NaN },
        { text: 'y', startMs: 500, endMs: 900 },
      ],
    });
    expectValidTokens(entity);
    expect(entity.data.alternatives[0]?.confidence).toBe(DEFAULT_CONFIDENCE);
    expect(tokensOf(entity)[0]?.confidence).toBe(DEFAULT_CONFIDENCE);
  });

  it('spreads words without times evenly, in proportion to their length', () => {
    const entity = build({ isFinal: true, text: '  ab  abcd, ab ', startMs: 0, endMs: 800 });
    const tokens = tokensOf(entity);
    expect(tokens.map((t) => t.value)).toEqual(['ab', 'abcd,', 'ab']);
    // 9 characters over 800 ms.
    expect(tokens.map((t) => t.offset)).toEqual(['PT0S', 'PT0.178S', 'PT0.622S']);
    expect(tokens.map((t) => t.duration)).toEqual(['PT0.178S', 'PT0.444S', 'PT0.178S']);
    expect(entity.data.alternatives[0]?.interpretations[0]?.transcript).toBe('ab  abcd, ab');
    expectValidTokens(entity);
  });

  it('spreads untimed words through the gap mapping', () => {
    const entity = build({ isFinal: true, text: 'aaaa bbbb', startMs: 1000, endMs: 3000 }, { toStreamSeconds: withGap });
    expect(tokensOf(entity).map((t) => t.offset)).toEqual(['PT1S', 'PT7S']);
    expectValidTokens(entity);
  });

  it('gives no tokens for empty text', () => {
    const entity = build({ isFinal: true, text: '   ', startMs: 0, endMs: 1000 });
    expect(tokensOf(entity)).toEqual([]);
    expect(entity.data.alternatives[0]?.interpretations[0]?.transcript).toBe('');
  });

  it('clamps confidences and defaults a missing one', () => {
    const high = build({ isFinal: true, text: 'a b', confidence: 1.7, startMs: 0, endMs: 100, words: [
      { text: 'a', startMs: 0, endMs: 50, confidence: -0.2 },
      { text: 'b', startMs: 50, endMs: 100, confidence: 3 },
    ] });
    expect(high.data.alternatives[0]?.confidence).toBe(1);
    expect(tokensOf(high).map((t) => t.confidence)).toEqual([0, 1]);

    const none = build({ isFinal: true, text: 'a b', startMs: 0, endMs: 100 });
    expect(none.data.alternatives[0]?.confidence).toBe(DEFAULT_CONFIDENCE);
    expect(tokensOf(none).map((t) => t.confidence)).toEqual([DEFAULT_CONFIDENCE, DEFAULT_CONFIDENCE]);

    // Word confidences only: the utterance gets their mean.
    const words = build({ isFinal: true, text: 'a b', startMs: 0, endMs: 100, words: [
      { text: 'a', startMs: 0, endMs: 50, confidence: 0.5 },
      { text: 'b', startMs: 50, endMs: 100, confidence: 0.7 },
    ] });
    expect(words.data.alternatives[0]?.confidence).toBeCloseTo(0.6, 10);
  });

  it('uses the engine language, full or primary subtag on tokens', () => {
    const full = build({ isFinal: true, text: 'hola', startMs: 0, endMs: 100, language: 'es-ES' });
    expect(full.data.alternatives[0]?.languages).toEqual(['es-ES']);
    expect(tokensOf(full)[0]?.language).toBe('es-ES');
    const primary = build({ isFinal: true, text: 'hello', startMs: 0, endMs: 100 }, { tokenLanguage: 'primary' });
    expect(primary.data.alternatives[0]?.languages).toEqual(['en-US']);
    expect(tokensOf(primary)[0]?.language).toBe('en');
  });

  it('propagates utterance id, channel and the interim/final flag', () => {
    const interim = build({ isFinal: false, text: 'hi', startMs: 0, endMs: 100 }, { utteranceId: 'u-1', channelId: 0 });
    const final = build({ isFinal: true, text: 'hi there', startMs: 0, endMs: 300 }, { utteranceId: 'u-1', channelId: 0 });
    expect(interim.data).toMatchObject({ id: 'u-1', channelId: 0, isFinal: false });
    expect(final.data).toMatchObject({ id: 'u-1', channelId: 0, isFinal: true });
  });
});

describe('splitLongResult', () => {
  it('returns a short result unchanged', () => {
    const r: RecognitionResult = { isFinal: true, text: 'short one', startMs: 0, endMs: 100 };
    expect(splitLongResult(r)).toEqual([r]);
  });

  it('splits untimed text on word boundaries, dividing the span by characters', () => {
    const text = Array.from({ length: 10 }, (_, i) => `w${i}xxxxxxx`).join(' '); // 10 × 9 chars
    const parts = splitLongResult({ isFinal: true, text, confidence: 0.8, startMs: 1000, endMs: 2000 }, 30);
    expect(parts.map((p) => p.text.split(' ').length)).toEqual([3, 3, 3, 1]);
    expect(parts.map((p) => p.text).join(' ')).toBe(text);
    expect(parts[0]?.startMs).toBe(1000);
    expect(parts.at(-1)?.endMs).toBe(2000);
    for (let i = 1; i < parts.length; i++) expect(parts[i]?.startMs).toBe(parts[i - 1]?.endMs);
    expect(parts[1]?.startMs).toBeCloseTo(1300, 6);
    expect(parts.every((p) => p.isFinal && p.confidence === 0.8 && p.words === undefined)).toBe(true);
  });

  it('splits timed results at word times and by word count', () => {
    const words = Array.from({ length: 7 }, (_, i) => ({ text: `w${i}`, startMs: 100 * i + 10, endMs: 100 * i + 90 }));
    const parts = splitLongResult({ isFinal: true, text: words.map((w) => w.text).join(' '), startMs: 0, endMs: 700, words }, 1000, 3);
    expect(parts.map((p) => p.words?.length)).toEqual([3, 3, 1]);
    expect(parts.map((p) => [p.startMs, p.endMs])).toEqual([[0, 310], [310, 610], [610, 700]]);
    expect(parts[1]?.text).toBe('w3 w4 w5');
  });

  it('cuts unspaced text hard and keeps every piece of a worst case under the message limit', () => {
    const parts = splitLongResult({ isFinal: true, text: '字'.repeat(20000), startMs: 0, endMs: 60000 });
    expect(parts.length).toBe(3);
    expect(parts.map((p) => p.text).join('')).toBe('字'.repeat(20000));

    // Worst case for size: many short words, long tags, long offsets, unrounded confidences.
    const many = Array.from({ length: 5000 }, (_, i) => ({
      text: `w${i % 10}`, startMs: 3_600_000 + i * 10, endMs: 3_600_000 + i * 10 + 7, confidence: 0.123456789012345,
    }));
    const big: RecognitionResult = { isFinal: true, text: many.map((w) => w.text).join(' '), confidence: 0.1234567890123, startMs: 3_600_000, endMs: 3_650_000, words: many };
    for (const part of splitLongResult(big)) {
      const entity = build(part, { language: 'zh-Hant-TW', utteranceId: '00000000-0000-4000-8000-000000000000' });
      expect(estimateEntitySize(entity)).toBeLessThan(60000);
    }
  });
});
