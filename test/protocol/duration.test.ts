import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/protocol/duration.js';

describe('formatDuration', () => {
  it.each([
    [0, 'PT0S'],
    [1.5, 'PT1.5S'],
    [12.345, 'PT12.345S'],
    [12.3456, 'PT12.346S'],
    [10, 'PT10S'],
    [100.1, 'PT100.1S'],
    [0.0004, 'PT0S'],
    [0.001, 'PT0.001S'],
    [3600, 'PT3600S'],
  ])('%s → %s', (s, text) => {
    expect(formatDuration(s)).toBe(text);
  });

  it('clamps negative, NaN and infinite values', () => {
    expect(formatDuration(-1)).toBe('PT0S');
    expect(formatDuration(Number.NaN)).toBe('PT0S');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('PT0S');
    expect(formatDuration(-0)).toBe('PT0S');
  });

  it('never emits exponents or minutes', () => {
    for (const s of [1e-7, 59.9999, 61, 1e6]) expect(formatDuration(s)).toMatch(/^PT\d+(\.\d{1,3})?S$/);
  });
});

describe('parseDuration', () => {
  it.each([
    ['PT0S', 0],
    ['PT1.5S', 1.5],
    ['PT12.345S', 12.345],
    ['PT1M5S', 65],
    ['PT1M', 60],
    ['PT2H', 7200],
    ['P1D', 86400],
    ['P1DT2H', 93600],
    ['P1W', 604800],
    ['PT1H2M3.25S', 3723.25],
    ['PT0,5S', 0.5],
    ['pt3s', 3],
    [' PT3S ', 3],
  ])('%s → %s', (text, s) => {
    expect(parseDuration(text)).toBeCloseTo(s, 9);
  });

  it.each([
    ['junk'], [''], ['P'], ['PT'], ['P1DT'], ['-PT1S'], ['PT-1S'], ['PT1e-7S'], ['1.5'], ['PT.5S'],
    ['P1Y'], ['P1M'], ['PT1S1M'], ['PTS'],
  ])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('rejects non-strings', () => {
    expect(parseDuration(1.5)).toBeUndefined();
    expect(parseDuration(null)).toBeUndefined();
    expect(parseDuration(undefined)).toBeUndefined();
    expect(parseDuration({})).toBeUndefined();
  });

  it('round-trips formatDuration', () => {
    for (const s of [0, 0.2, 1.5, 12.345, 98765.432]) expect(parseDuration(formatDuration(s))).toBeCloseTo(s, 9);
  });
});
