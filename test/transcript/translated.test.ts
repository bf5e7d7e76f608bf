import { describe, expect, it } from 'vitest';
import { buildTranscriptEntity } from '../../src/transcript/builder.js';
import { translatedEntities } from '../../src/transcript/translated.js';
import { parseDuration } from '../../src/protocol/duration.js';

const source = buildTranscriptEntity({
  result: { isFinal: true, text: 'kaixo zer moduz', confidence: 0.8, startMs: 1000, endMs: 2500 },
  utteranceId: 'u1',
  channelId: 1,
  language: 'eu-ES',
  toStreamSeconds: (ms) => ms / 1000,
});

describe('translatedEntities', () => {
  it('keeps id, channel and span; one token per word in proportion to length; confidence carried; languages = [target]', () => {
    const [t, more] = translatedEntities(source, 'hello, how are you', 'en-US', 'primary', () => 'new');
    expect(more).toBeUndefined();
    expect(t!.data).toMatchObject({ id: 'u1', channelId: 1, isFinal: true, offset: 'PT1S', duration: 'PT1.5S' });
    const alt = t!.data.alternatives[0]!;
    expect(alt.languages).toEqual(['en-US']);
    expect(alt.confidence).toBe(0.8);
    const toks = alt.interpretations[0]!.tokens;
    expect(toks.map((k) => [k.value, k.language, k.confidence])).toEqual([
      ['hello,', 'en', 0.8],
      ['how', 'en', 0.8],
      ['are', 'en', 0.8],
      ['you', 'en', 0.8],
    ]);
    // 15 characters over 1.5 s: "hello," takes 6/15 of it.
    expect(parseDuration(toks[0]!.duration)).toBeCloseTo(0.6, 3);
    expect(parseDuration(toks[1]!.offset)).toBeCloseTo(1.6, 3);
    expect(parseDuration(toks[3]!.offset)! + parseDuration(toks[3]!.duration)!).toBeCloseTo(2.5, 3);
  });

  it('splits a translation too long for one event, later parts under fresh ids', () => {
    const long = Array.from({ length: 300 }, (_, i) => `w${i}`).join(' ');
    const parts = translatedEntities(source, long, 'en-US', 'full', () => 'fresh');
    expect(parts.map((p) => p.data.id)).toEqual(['u1', 'fresh']);
    expect(parts.every((p) => p.data.alternatives[0]!.languages[0] === 'en-US')).toBe(true);
  });
});
