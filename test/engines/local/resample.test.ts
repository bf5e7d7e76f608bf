import { describe, expect, it } from 'vitest';
import { upsample2x } from '../../../src/engines/local/resample.js';

function sine(hz: number, rate: number, samples: number, amplitude = 10000): Int16Array {
  return Int16Array.from({ length: samples }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate)));
}

/** Amplitude of the `hz` component (Goertzel), away from the edges. */
function amplitudeAt(pcm: Int16Array, hz: number, rate: number): number {
  const body = pcm.subarray(200, pcm.length - 200);
  const w = (2 * Math.PI * hz) / rate;
  let re = 0;
  let im = 0;
  for (let i = 0; i < body.length; i++) {
    re += (body[i] as number) * Math.cos(w * i);
    im -= (body[i] as number) * Math.sin(w * i);
  }
  return (2 * Math.hypot(re, im)) / body.length;
}

describe('8 → 16 kHz', () => {
  it('keeps every input sample, doubles the length, and passes DC unchanged', () => {
    const input = Int16Array.from({ length: 100 }, (_, i) => (i * 37) % 1000);
    const out = upsample2x(input);
    expect(out).toHaveLength(200);
    for (let i = 0; i < input.length; i++) expect(out[2 * i]).toBe(input[i]);
    expect([...upsample2x(new Int16Array(50).fill(1234))]).toEqual(new Array(100).fill(1234));
  });

  it('keeps speech-band tones and removes their images above 4 kHz', () => {
    for (const hz of [300, 1000, 3000]) {
      const out = upsample2x(sine(hz, 8000, 8000));
      expect(amplitudeAt(out, hz, 16000)).toBeGreaterThan(9900);
      // The image at 8 kHz − f: about −94 dB at 1 kHz, −43 dB at 3 kHz (the filter's edge).
      expect(amplitudeAt(out, 8000 - hz, 16000)).toBeLessThan(hz === 3000 ? 100 : 5);
    }
  });

  it('clips rather than wraps at full scale', () => {
    const square = Int16Array.from({ length: 64 }, (_, i) => (i % 8 < 4 ? 32767 : -32768));
    const out = upsample2x(square);
    for (let i = 1; i < out.length; i += 2) expect(Math.abs(out[i] as number)).toBeLessThanOrEqual(32768);
    expect(out.some((s, i) => i % 2 === 1 && s === 32767)).toBe(true);
  });
});
