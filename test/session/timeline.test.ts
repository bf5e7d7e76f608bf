import { describe, expect, it } from 'vitest';
import { StreamTimeline } from '../../src/session/timeline.js';

describe('StreamTimeline', () => {
  it('without gaps maps samples to samples / rate', () => {
    const t = new StreamTimeline();
    for (let i = 0; i < 10; i++) t.advance(1600);
    expect(t.samplesReceived).toBe(16000);
    expect(t.position).toBe(2);
    expect(t.positionOfSample(0)).toBe(0);
    expect(t.positionOfSample(8000)).toBe(1);
    expect(t.positionOfSample(12345)).toBeCloseTo(12345 / 8000, 12);
    expect(t.totalGapSeconds).toBe(0);
  });

  it('shifts audio after a mid-stream pause (resumed.discarded)', () => {
    const t = new StreamTimeline();
    t.advance(8000); // 1 s
    t.addGap(3.5); // paused 3.5 s
    t.advance(8000);
    expect(t.position).toBeCloseTo(5.5, 12);
    expect(t.positionOfSample(4000)).toBeCloseTo(0.5, 12);
    expect(t.positionOfSample(7999)).toBeCloseTo(7999 / 8000, 12);
    expect(t.positionOfSample(8000)).toBeCloseTo(4.5, 12); // the boundary lands after the gap
    expect(t.positionOfSample(12000)).toBeCloseTo(5, 12);
  });

  it('accumulates several discards', () => {
    const t = new StreamTimeline();
    t.advance(1600);
    t.addGap(0.2);
    t.advance(1600);
    t.addGap(0.4);
    t.advance(1600);
    t.addGap(1);
    t.advance(1600);
    expect(t.totalGapSeconds).toBeCloseTo(1.6, 12);
    expect(t.position).toBeCloseTo(0.8 + 1.6, 12);
    expect(t.positionOfSample(800)).toBeCloseTo(0.1, 12);
    expect(t.positionOfSample(2400)).toBeCloseTo(0.3 + 0.2, 12);
    expect(t.positionOfSample(4000)).toBeCloseTo(0.5 + 0.6, 12);
    expect(t.positionOfSample(5600)).toBeCloseTo(0.7 + 1.6, 12);
  });

  it('applies gaps at sample 0 to everything (startPaused then resumed)', () => {
    const t = new StreamTimeline();
    t.addGap(2);
    expect(t.position).toBe(2);
    t.advance(800);
    expect(t.positionOfSample(0)).toBe(2);
    expect(t.positionOfSample(400)).toBeCloseTo(2.05, 12);
    expect(t.positionOfSample(-1)).toBeCloseTo(-1 / 8000, 12); // before any audio: no gap yet
  });

  it('merges consecutive gaps at the same sample index', () => {
    const t = new StreamTimeline();
    t.advance(100);
    t.addGap(1);
    t.addGap(0.5);
    t.advance(100);
    expect(t.positionOfSample(100)).toBeCloseTo(100 / 8000 + 1.5, 12);
    expect(t.positionOfSample(99)).toBeCloseTo(99 / 8000, 12);
    expect(t['breakSample']).toHaveLength(1);
  });

  it('ignores odd values', () => {
    const t = new StreamTimeline();
    t.addGap(0);
    t.addGap(-1);
    t.addGap(Number.NaN);
    t.addGap(Number.POSITIVE_INFINITY);
    t.advance(-5);
    t.advance(Number.NaN);
    t.advance(0);
    expect(t.position).toBe(0);
    expect(t.samplesReceived).toBe(0);
    t.addGap(1e-7); // tiny but valid
    expect(t.position).toBeCloseTo(1e-7, 15);
    expect(() => new StreamTimeline(0)).toThrow();
  });

  it('handles fractional sample indexes around a boundary', () => {
    const t = new StreamTimeline();
    t.advance(1000);
    t.addGap(1);
    t.advance(1000);
    expect(t.positionOfSample(999.5)).toBeCloseTo(999.5 / 8000, 12);
    expect(t.positionOfSample(1000)).toBeCloseTo(1000 / 8000 + 1, 12);
    expect(t.positionOfSample(1000.25)).toBeCloseTo(1000.25 / 8000 + 1, 12);
  });

  it('honours another sample rate', () => {
    const t = new StreamTimeline(16000);
    t.advance(16000);
    t.addGap(1);
    expect(t.position).toBe(2);
    expect(t.positionOfSample(16000)).toBe(2);
  });

  it('finds the right breakpoint among many gaps', () => {
    const t = new StreamTimeline();
    const n = 10000;
    for (let i = 0; i < n; i++) {
      t.advance(160);
      t.addGap(0.01);
    }
    t.advance(160);
    expect(t.totalGapSeconds).toBeCloseTo(n * 0.01, 6);
    for (const k of [0, 1, 2, 17, 4999, 5000, 9998, 9999, 10000]) {
      // Samples of chunk k (160 samples each) lie after k gaps.
      const first = k * 160;
      expect(t.positionOfSample(first)).toBeCloseTo(first / 8000 + k * 0.01, 6);
      expect(t.positionOfSample(first + 159.5)).toBeCloseTo((first + 159.5) / 8000 + k * 0.01, 6);
    }
    expect(t.position).toBeCloseTo(((n + 1) * 160) / 8000 + n * 0.01, 6);
  });

  it('puts an end that falls exactly on a gap before the gap, a start there after it', () => {
    const t = new StreamTimeline();
    t.advance(16000); // 2 s
    t.addGap(10); // a hold
    t.advance(8000);
    expect(t.positionOfSample(16000)).toBeCloseTo(12, 9); // first sample after the hold
    expect(t.positionOfEnd(16000)).toBeCloseTo(2, 9); // speech that ran up to the hold
    expect(t.positionOfEnd(16001)).toBeCloseTo(12 + 1 / 8000, 9); // past the boundary: after it
    expect(t.positionOfEnd(8000)).toBeCloseTo(1, 9);
    expect(t.positionOfEnd(0)).toBe(0);
  });
});
