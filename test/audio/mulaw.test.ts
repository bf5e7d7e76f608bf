import { describe, expect, it } from 'vitest';
import { MULAW_TO_PCM16, decodeMulaw, encodeMulaw, encodeMulawSample } from '../../src/audio/mulaw.js';

describe('µ-law', () => {
  it('has the known G.711 values', () => {
    expect(MULAW_TO_PCM16).toHaveLength(256);
    expect(MULAW_TO_PCM16[0xff]).toBe(0);
    expect(MULAW_TO_PCM16[0x7f]).toBe(0);
    expect(MULAW_TO_PCM16[0x00]).toBe(-32124);
    expect(MULAW_TO_PCM16[0x80]).toBe(32124);
    expect(MULAW_TO_PCM16[0xfe]).toBe(8);
    expect(MULAW_TO_PCM16[0x7e]).toBe(-8);
  });

  it('is monotonic per sign half', () => {
    for (let i = 0x80; i < 0xff; i++) expect(MULAW_TO_PCM16[i]!).toBeGreaterThan(MULAW_TO_PCM16[i + 1]!);
    for (let i = 0x00; i < 0x7f; i++) expect(MULAW_TO_PCM16[i]!).toBeLessThan(MULAW_TO_PCM16[i + 1]!);
  });

  it('encodes known values', () => {
    expect(encodeMulawSample(0)).toBe(0xff);
    expect(encodeMulawSample(32767)).toBe(0x80);
    expect(encodeMulawSample(-32768)).toBe(0x00);
    expect(encodeMulawSample(32124)).toBe(0x80);
    expect(encodeMulawSample(-32124)).toBe(0x00);
  });

  it('round-trips every code (0x7F, negative zero, encodes as 0xFF)', () => {
    const all = new Uint8Array(256).map((_, i) => i);
    const back = encodeMulaw(decodeMulaw(all));
    for (let i = 0; i < 256; i++) expect(back[i]).toBe(i === 0x7f ? 0xff : i);
  });

  it('round-trips PCM within the quantization step', () => {
    const pcm = new Int16Array(65536);
    for (let i = 0; i < 65536; i++) pcm[i] = i - 32768;
    const out = decodeMulaw(encodeMulaw(pcm));
    for (let i = 0; i < 65536; i++) {
      const x = pcm[i]!;
      const clipped = Math.max(-32635, Math.min(32635, x));
      // Decoding returns the centre of the interval: error <= half a step <= (|x| + bias) / 32.
      const tolerance = (Math.abs(clipped) + 0x84) / 32;
      expect(Math.abs(out[i]! - clipped)).toBeLessThanOrEqual(tolerance);
    }
  });

  it('decodes and encodes empty arrays', () => {
    expect(decodeMulaw(new Uint8Array(0))).toHaveLength(0);
    expect(encodeMulaw(new Int16Array(0))).toHaveLength(0);
  });
});
