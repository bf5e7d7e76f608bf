import { describe, expect, it } from 'vitest';
import { bytesPerFrame, bytesPerSample, chooseMedia, isSupportedOffer } from '../../src/protocol/media.js';
import type { MediaOffer } from '../../src/protocol/messages.js';

const offer = (format: string, channels: string[], extra: Record<string, unknown> = {}): MediaOffer =>
  ({ type: 'audio', format, channels, rate: 8000, ...extra }) as MediaOffer;

describe('chooseMedia', () => {
  it('prefers the first stereo PCMU offer and returns the same object', () => {
    const offers = [offer('L16', ['external', 'internal']), offer('PCMU', ['external']), offer('PCMU', ['internal', 'external']), offer('PCMU', ['external', 'internal'])];
    expect(chooseMedia(offers)).toBe(offers[2]);
  });

  it('falls back to mono PCMU, then stereo L16, then mono L16', () => {
    const monoPcmu = offer('PCMU', ['internal']);
    const stereoL16 = offer('L16', ['external', 'internal']);
    const monoL16 = offer('L16', ['external']);
    expect(chooseMedia([monoL16, stereoL16, monoPcmu])).toBe(monoPcmu);
    expect(chooseMedia([monoL16, stereoL16])).toBe(stereoL16);
    expect(chooseMedia([monoL16])).toBe(monoL16);
  });

  it('keeps unknown fields and channel order (same reference)', () => {
    const o = offer('PCMU', ['internal', 'external'], { extra: 1 });
    const chosen = chooseMedia([o]);
    expect(chosen).toBe(o);
    expect(JSON.stringify(chosen)).toBe(JSON.stringify(o));
  });

  it('rejects unusable offers', () => {
    const bad = [
      offer('PCMU', ['external', 'internal'], { rate: 16000 }),
      offer('PCMU', ['external', 'internal'], { type: 'video' }),
      offer('OPUS', ['external']),
      offer('pcmu', ['external']),
      offer('PCMU', []),
      offer('PCMU', ['external', 'external']),
      offer('PCMU', ['external', 'internal', 'external']),
      offer('PCMU', ['other']),
      { type: 'audio', format: 'PCMU', rate: 8000 } as unknown as MediaOffer,
      null as unknown as MediaOffer,
    ];
    for (const o of bad) expect(isSupportedOffer(o)).toBe(false);
    expect(chooseMedia(bad)).toBeUndefined();
    expect(chooseMedia([])).toBeUndefined();
  });

  it('skips bad offers in favour of a later good one', () => {
    const good = offer('L16', ['external']);
    expect(chooseMedia([offer('PCMU', ['external'], { rate: 16000 }), good])).toBe(good);
  });
});

describe('bytesPerSample / bytesPerFrame', () => {
  it('gives sizes per format', () => {
    expect(bytesPerSample('PCMU')).toBe(1);
    expect(bytesPerSample('L16')).toBe(2);
    expect(() => bytesPerSample('OPUS')).toThrow(RangeError);
    expect(bytesPerFrame(offer('PCMU', ['external', 'internal']))).toBe(2);
    expect(bytesPerFrame(offer('L16', ['external', 'internal']))).toBe(4);
    expect(bytesPerFrame(offer('L16', ['external']))).toBe(2);
  });
});
