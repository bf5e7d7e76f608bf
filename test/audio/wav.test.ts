import { describe, expect, it } from 'vitest';
import { parseWav, resampleLinear, writeWav } from '../../src/audio/wav.js';

function sine(n: number, rate: number, freq: number, amp: number): Int16Array {
  const a = new Int16Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.round(amp * Math.sin((2 * Math.PI * freq * i) / rate));
  return a;
}

function rms(a: Int16Array, skip = 0): number {
  let s = 0;
  for (let i = skip; i < a.length - skip; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s / (a.length - 2 * skip));
}

function pcmBytes(a: Int16Array): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

describe('wav', () => {
  it('round-trips L16 stereo', () => {
    const data = pcmBytes(sine(800, 8000, 440, 10000));
    const wav = writeWav({ sampleRate: 8000, channels: 2, format: 'L16', data });
    expect(wav).toHaveLength(44 + data.length);
    const parsed = parseWav(wav);
    expect(parsed).toMatchObject({ sampleRate: 8000, channels: 2, format: 'L16' });
    expect(Array.from(parsed.data)).toEqual(Array.from(data));
  });

  it('round-trips PCMU mono with odd length (padding)', () => {
    const data = new Uint8Array(101).map((_, i) => i);
    const wav = writeWav({ sampleRate: 8000, channels: 1, format: 'PCMU', data });
    expect(wav.length % 2).toBe(0);
    const parsed = parseWav(wav);
    expect(parsed).toMatchObject({ sampleRate: 8000, channels: 1, format: 'PCMU' });
    expect(Array.from(parsed.data)).toEqual(Array.from(data));
  });

  it('skips LIST and other unknown chunks, including odd-sized ones', () => {
    const base = writeWav({ sampleRate: 16000, channels: 1, format: 'L16', data: new Uint8Array([1, 0, 2, 0]) });
    const list = new Uint8Array([...'LIST'].map((c) => c.charCodeAt(0)).concat([3, 0, 0, 0, 9, 9, 9, 0]));
    // RIFF header + fmt (12 + 24 bytes), then LIST, then data.
    const wav = new Uint8Array(base.length + list.length);
    wav.set(base.subarray(0, 36));
    wav.set(list, 36);
    wav.set(base.subarray(36), 36 + list.length);
    new DataView(wav.buffer).setUint32(4, wav.length - 8, true);
    const parsed = parseWav(wav);
    expect(parsed.sampleRate).toBe(16000);
    expect(Array.from(parsed.data)).toEqual([1, 0, 2, 0]);
  });

  it('clamps a data size that runs past the end (streamed WAV)', () => {
    const wav = writeWav({ sampleRate: 8000, channels: 1, format: 'L16', data: new Uint8Array(10) });
    new DataView(wav.buffer).setUint32(40, 0xffffffff, true);
    expect(parseWav(wav.subarray(0, 44 + 7)).data).toHaveLength(6);
  });

  it('rejects what it cannot read with a clear error', () => {
    expect(() => parseWav(new Uint8Array(4))).toThrow(/RIFF\/WAVE/);
    const wav = writeWav({ sampleRate: 8000, channels: 1, format: 'L16', data: new Uint8Array(4) });
    const float = wav.slice();
    new DataView(float.buffer).setUint16(20, 3, true);
    expect(() => parseWav(float)).toThrow(/unsupported WAV encoding \(format tag 3/);
    const eightBit = wav.slice();
    new DataView(eightBit.buffer).setUint16(34, 8, true);
    expect(() => parseWav(eightBit)).toThrow(/8 bits/);
    expect(() => parseWav(wav.subarray(0, 36))).toThrow(/no data chunk/);
  });
});

describe('resampleLinear', () => {
  it('returns a copy at the same rate', () => {
    const a = Int16Array.of(1, 2, 3);
    const b = resampleLinear(a, 8000, 8000);
    expect(Array.from(b)).toEqual([1, 2, 3]);
    expect(b).not.toBe(a);
  });

  it('gives the expected lengths', () => {
    expect(resampleLinear(new Int16Array(16000), 16000, 8000)).toHaveLength(8000);
    expect(resampleLinear(new Int16Array(22050), 22050, 8000)).toHaveLength(8000);
    expect(resampleLinear(new Int16Array(8000), 8000, 16000)).toHaveLength(16000);
  });

  it('keeps in-band tones and suppresses tones above the new Nyquist', () => {
    for (const rate of [16000, 22050]) {
      const pass = resampleLinear(sine(rate, rate, 500, 10000), rate, 8000);
      expect(rms(pass, 50)).toBeGreaterThan(0.9 * (10000 / Math.SQRT2));
      // 6 kHz would alias to 2 kHz without the low-pass.
      const stop = resampleLinear(sine(rate, rate, 6000, 10000), rate, 8000);
      expect(rms(stop, 50)).toBeLessThan(0.1 * (10000 / Math.SQRT2));
    }
  });

  it('keeps DC and clamps to int16', () => {
    const dc = resampleLinear(new Int16Array(1000).fill(32767), 16000, 8000);
    expect(Math.min(...dc)).toBeGreaterThanOrEqual(32760);
    expect(Math.max(...dc)).toBe(32767);
  });

  it('interpolates when upsampling', () => {
    expect(Array.from(resampleLinear(Int16Array.of(0, 100, 200), 8000, 16000))).toEqual([0, 50, 100, 150, 200, 200]);
  });

  it('rejects bad rates', () => {
    expect(() => resampleLinear(new Int16Array(4), 0, 8000)).toThrow();
    expect(() => resampleLinear(new Int16Array(4), 8000, Number.NaN)).toThrow();
  });
});
