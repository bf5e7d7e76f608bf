import { describe, expect, it } from 'vitest';
import { Histogram } from '../../src/session/metrics.js';

describe('Histogram', () => {
  it('estimates percentiles within a few percent', () => {
    const h = new Histogram();
    for (let i = 1; i <= 10_000; i++) h.record(i / 100); // 0.01 .. 100 ms, uniform
    const s = h.summary();
    expect(s.count).toBe(10_000);
    expect(s.p50).toBeGreaterThan(50 * 0.95);
    expect(s.p50).toBeLessThan(50 * 1.06);
    expect(s.p99).toBeGreaterThan(99 * 0.95);
    expect(s.p99).toBeLessThanOrEqual(100);
    expect(s.max).toBe(100);
  });

  it('is empty-safe and ignores junk', () => {
    const h = new Histogram();
    h.record(Number.NaN);
    h.record(-1);
    expect(h.summary()).toEqual({ count: 0, p50: 0, p99: 0, max: 0, mean: 0 });
    h.record(0);
    expect(h.percentile(0.99)).toBe(0);
  });
});
