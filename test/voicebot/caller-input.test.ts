/**
 * What the caller does, as the conversation hears it: the VAD's speech runs on real flite speech
 * (the first stage at 200 ms, commit at 500 ms, never for a click), and DTMF collection.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeMulaw } from '../../src/audio/mulaw.js';
import { CallerVoice } from '../../src/voicebot/caller-voice.js';
import { DigitCollector } from '../../src/voicebot/digits.js';
import { CallTimers } from '../../src/voicebot/timers.js';
import { click, sample } from './call-helpers.js';

function runs(pcm: Int16Array) {
  const seen: string[] = [];
  const voice = new CallerVoice([200, 500], { onSpeech: (ms) => seen.push(`speech≥${ms >= 500 ? 500 : 200}`), onSilence: () => seen.push('silence') });
  const mulaw = encodeMulaw(pcm);
  // 200 ms frames as Genesys sends them, then a second of µ-law silence.
  for (let i = 0; i < mulaw.length; i += 1600) voice.pushFrame(mulaw.subarray(i, i + 1600), 'PCMU', 1, i / 8);
  voice.pushFrame(new Uint8Array(8000).fill(0xff), 'PCMU', 1, mulaw.length / 8 + 1000);
  voice.free();
  return seen;
}

describe('CallerVoice', () => {
  it('hears a spoken question as one run: the first stage, then the commit, then silence', () => {
    expect(runs(sample('hours.wav').pcm)).toEqual(['speech≥200', 'speech≥500', 'silence']);
  });

  it('does not take a 150 ms click for speech, nor silence', () => {
    expect(runs(click(150).pcm).filter((e) => e.startsWith('speech'))).toEqual([]);
    expect(runs(new Int16Array(16000))).toEqual([]);
  });

  it('reads the caller from channel 0 of stereo and from L16', () => {
    const mono = sample('goodbye.wav').pcm;
    const seen: string[] = [];
    const voice = new CallerVoice([200], { onSpeech: () => seen.push('speech'), onSilence: () => seen.push('silence') });
    const l16 = new Uint8Array(mono.length * 4); // stereo L16: caller left, silence right
    const view = new DataView(l16.buffer);
    mono.forEach((v, i) => view.setInt16(i * 4, v, true));
    voice.pushFrame(l16, 'L16', 2, 0);
    voice.pushFrame(new Uint8Array(32000), 'L16', 2, 2000);
    voice.free();
    expect(seen).toEqual(['speech', 'silence']);
  });
});

describe('DigitCollector', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function collector() {
    const timers = new CallTimers();
    const got: [string, string][] = [];
    const c = new DigitCollector({ terminator: '#', interDigitMs: 2000, maxDigits: 4 }, timers, (d, end) => got.push([d, end]));
    return { c, got, timers };
  }

  it('ends on the terminator, the maximum and a pause between keys', () => {
    const { c, got } = collector();
    for (const d of '12#') c.push(d);
    for (const d of '56789') c.push(d);
    vi.advanceTimersByTime(1999);
    expect(got).toEqual([
      ['12', 'terminator'],
      ['5678', 'max'],
    ]);
    vi.advanceTimersByTime(1);
    expect(got.at(-1)).toEqual(['9', 'timeout']);
  });

  it("takes the bot's limits for the next entry only; a terminator alone is an empty entry", () => {
    const { c, got } = collector();
    c.expect({ maxDigits: 8, terminator: '*' });
    for (const d of '123456#*') c.push(d);
    c.push('#');
    expect(got).toEqual([
      ['123456#', 'terminator'],
      ['', 'terminator'],
    ]);
  });

  it('does not count time on hold', () => {
    const { c, got, timers } = collector();
    c.push('1');
    vi.advanceTimersByTime(1000);
    timers.freeze();
    vi.advanceTimersByTime(60_000);
    expect(got).toEqual([]);
    timers.thaw();
    vi.advanceTimersByTime(1000);
    expect(got).toEqual([['1', 'timeout']]);
  });
});
