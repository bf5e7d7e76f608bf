/**
 * The decimating resampler: the telephone band passes at unity gain, what would alias is
 * attenuated, and pieces of any size give the same samples as one push.
 */
import { describe, expect, it } from 'vitest';
import { createDecimator, decimate, kaiserLowPass } from '../../src/audio/resample.js';
import { rms } from './helpers.js';

const tone = (hz: number, rate: number, seconds: number, amplitude = 10_000) =>
  Int16Array.from({ length: Math.round(rate * seconds) }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate)));
/** The middle, away from the edges where the filter sees silence. */
const middle = (pcm: Int16Array) => pcm.subarray(Math.floor(pcm.length * 0.2), Math.floor(pcm.length * 0.8));
const db = (ratio: number) => 20 * Math.log10(ratio);

describe('decimating resampler', () => {
  it.each([24_000, 16_000, 48_000])('passes a 1 kHz tone from %i Hz to 8 kHz at unity gain, at the same time', (rate) => {
    const input = tone(1000, rate, 0.5);
    const out = decimate(input, rate, 8000);
    expect(out.length).toBe(Math.ceil(input.length / (rate / 8000)));
    expect(Math.abs(db(rms(middle(out)) / rms(middle(input))))).toBeLessThan(0.1);
    // Delay compensated: output sample m is the input at m × factor.
    const expected = tone(1000, 8000, 0.5);
    const mid = middle(out);
    const off = Math.floor(out.length * 0.2);
    for (let i = 0; i < mid.length; i += 37) expect(Math.abs(mid[i]! - expected[off + i]!)).toBeLessThan(60);
  });

  it('attenuates a 5 kHz tone at 24 kHz (it would alias to 3 kHz) by at least 40 dB', () => {
    const input = tone(5000, 24_000, 0.5);
    const out = decimate(input, 24_000, 8000);
    expect(db(rms(middle(out)) / rms(middle(input)))).toBeLessThan(-40);
  });

  it('attenuates 4.5 kHz at 16 kHz by at least 40 dB and keeps 3 kHz within 1 dB', () => {
    expect(db(rms(middle(decimate(tone(4500, 16_000, 0.5), 16_000, 8000))) / rms(middle(tone(4500, 16_000, 0.5))))).toBeLessThan(-40);
    const kept = tone(3000, 16_000, 0.5);
    expect(Math.abs(db(rms(middle(decimate(kept, 16_000, 8000))) / rms(middle(kept))))).toBeLessThan(1);
  });

  it('gives the same samples pushed in pieces of any size (odd ones included) as in one push', () => {
    const input = Int16Array.from({ length: 24_000 }, (_, i) => Math.round(8000 * Math.sin(i / 7) + 3000 * Math.sin(i / 2.3)));
    const whole = decimate(input, 24_000, 8000);
    for (const sizes of [[1], [2, 5, 3], [89], [1000, 7, 4000]]) {
      const d = createDecimator(24_000, 8000);
      const parts: Int16Array[] = [];
      for (let at = 0, k = 0; at < input.length; k++) {
        const n = sizes[k % sizes.length]!;
        parts.push(d.push(input.subarray(at, at + n)));
        at += n;
      }
      parts.push(d.end());
      expect(Int16Array.from(parts.flatMap((p) => [...p]))).toEqual(whole);
    }
  });

  it('clips instead of wrapping around at full scale; passes through at factor 1; refuses non-integer ratios', () => {
    const square = Int16Array.from({ length: 2400 }, (_, i) => (Math.floor(i / 12) % 2 ? 32767 : -32768));
    const out = decimate(square, 24_000, 8000);
    expect(Math.max(...out)).toBeLessThanOrEqual(32767);
    expect(Math.min(...out)).toBeGreaterThanOrEqual(-32768);
    expect(decimate(Int16Array.of(1, 2, 3), 8000, 8000)).toEqual(Int16Array.of(1, 2, 3));
    expect(() => createDecimator(22_050, 8000)).toThrow(/integer ratio/);
  });

  it('designs symmetric, odd-length taps with unity DC gain', () => {
    const taps = kaiserLowPass(24_000);
    expect(taps.length % 2).toBe(1);
    expect(taps.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    for (let i = 0; i < taps.length; i++) expect(taps[i]).toBeCloseTo(taps[taps.length - 1 - i]!, 7);
  });
});
