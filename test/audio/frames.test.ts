import { describe, expect, it } from 'vitest';
import { checkFrame, interleave, splitChannels, splitChannelsInto } from '../../src/audio/frames.js';
import { MULAW_TO_PCM16, encodeMulaw } from '../../src/audio/mulaw.js';

function ramp(n: number, start: number, step: number): Int16Array {
  const a = new Int16Array(n);
  for (let i = 0; i < n; i++) a[i] = start + i * step;
  return a;
}

describe('checkFrame', () => {
  it('accepts whole sample frames', () => {
    expect(checkFrame(3200, 'PCMU', 2)).toBeUndefined();
    expect(checkFrame(1600, 'PCMU', 1)).toBeUndefined();
    expect(checkFrame(6400, 'L16', 2)).toBeUndefined();
    expect(checkFrame(2, 'L16', 1)).toBeUndefined();
    expect(checkFrame(1, 'PCMU', 1)).toBeUndefined();
  });

  it('rejects partial sample frames and empty frames', () => {
    expect(checkFrame(3201, 'PCMU', 2)).toBe(
      'frame of 3201 bytes is not a whole number of 2-channel PCMU samples',
    );
    expect(checkFrame(6402, 'L16', 2)).toMatch(/6402 bytes.*2-channel L16/);
    expect(checkFrame(3, 'L16', 1)).toMatch(/1-channel L16/);
    expect(checkFrame(0, 'PCMU', 2)).toBeTypeOf('string');
    expect(checkFrame(4, 'PCMU', 0)).toBeTypeOf('string');
  });
});

describe('splitChannels / interleave', () => {
  it('splits stereo PCMU in channel order', () => {
    const frame = new Uint8Array([0x00, 0x80, 0xff, 0x7e, 0x10, 0x90]);
    const [a, b] = splitChannels(frame, 'PCMU', 2);
    expect(Array.from(a!)).toEqual([MULAW_TO_PCM16[0x00], MULAW_TO_PCM16[0xff], MULAW_TO_PCM16[0x10]]);
    expect(Array.from(b!)).toEqual([MULAW_TO_PCM16[0x80], MULAW_TO_PCM16[0x7e], MULAW_TO_PCM16[0x90]]);
  });

  it('splits mono PCMU', () => {
    const frame = encodeMulaw(ramp(1600, -8000, 10));
    const chans = splitChannels(frame, 'PCMU', 1);
    expect(chans).toHaveLength(1);
    expect(chans[0]).toHaveLength(1600);
    expect(chans[0]![0]).toBe(MULAW_TO_PCM16[frame[0]!]);
  });

  it('splits L16 little-endian, signed, from an unaligned offset', () => {
    const backing = new Uint8Array(1 + 8);
    // samples: ch0 = 1, -2 ; ch1 = 0x1234, -32768
    backing.set([0x01, 0x00, 0x34, 0x12, 0xfe, 0xff, 0x00, 0x80], 1);
    const frame = backing.subarray(1);
    expect(frame.byteOffset % 2).toBe(1);
    const [a, b] = splitChannels(frame, 'L16', 2);
    expect(Array.from(a!)).toEqual([1, -2]);
    expect(Array.from(b!)).toEqual([0x1234, -32768]);
    const [m] = splitChannels(frame, 'L16', 1);
    expect(Array.from(m!)).toEqual([1, 0x1234, -2, -32768]);
  });

  it('round-trips L16 exactly for 1, 2 and 3 channels', () => {
    for (const count of [1, 2, 3]) {
      const chans = Array.from({ length: count }, (_, c) => ramp(160, -32768 + c * 7, 409));
      const frame = interleave(chans, 'L16');
      expect(frame).toHaveLength(160 * 2 * count);
      expect(checkFrame(frame.length, 'L16', count)).toBeUndefined();
      expect(splitChannels(frame, 'L16', count)).toEqual(chans);
    }
  });

  it('round-trips PCMU through the codec for 1, 2 and 3 channels', () => {
    for (const count of [1, 2, 3]) {
      const bytes = Array.from({ length: count }, (_, c) => new Uint8Array(256).map((_, i) => (i + c * 31) & 0xff));
      const chans = bytes.map((b) => Int16Array.from(b, (x) => MULAW_TO_PCM16[x]!));
      const frame = interleave(chans, 'PCMU');
      expect(frame).toHaveLength(256 * count);
      expect(splitChannels(frame, 'PCMU', count)).toEqual(chans);
    }
  });

  it('interleaves sample by sample', () => {
    const frame = interleave([Int16Array.of(0, 0), Int16Array.of(32124, 32124)], 'PCMU');
    expect(Array.from(frame)).toEqual([0xff, 0x80, 0xff, 0x80]);
    expect(() => interleave([new Int16Array(2), new Int16Array(3)], 'L16')).toThrow();
    expect(interleave([], 'PCMU')).toHaveLength(0);
  });
});

describe('splitChannelsInto (caller-owned arrays)', () => {
  const frame = Uint8Array.from({ length: 12 }, (_, i) => i * 17);

  it('decodes into larger arrays and returns the samples per channel', () => {
    const outs = [new Int16Array(10), new Int16Array(10)];
    expect(splitChannelsInto(frame, 'PCMU', 2, outs)).toBe(6);
    const [a, b] = splitChannels(frame, 'PCMU', 2);
    expect(outs[0]!.subarray(0, 6)).toEqual(a);
    expect(outs[1]!.subarray(0, 6)).toEqual(b);
  });

});
