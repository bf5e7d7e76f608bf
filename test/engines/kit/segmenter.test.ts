import { describe, expect, it } from 'vitest';
import { createSegmenter, type Segment, type SegmenterOptions } from '../../../src/engines/kit/segmenter.js';
import { canSpeak, lineNoise, pushInFrames, RATE, spokenCall, type SpokenCall } from './speech.js';

const TOLERANCE_MS = 150;
const ms = (samples: number) => (samples * 1000) / RATE;

function segment(pcm: Int16Array, options: SegmenterOptions = {}, flush = true): Segment[] {
  const out: Segment[] = [];
  const s = createSegmenter(RATE, options, (g) => out.push(g));
  pushInFrames((f) => s.push(f), pcm);
  if (flush) s.flush();
  s.close();
  return out;
}

describe.skipIf(!canSpeak)('segmenter on real speech (flite, µ-law 8 kHz)', () => {
  let call: SpokenCall;
  const texts = [
    'Hello, thank you for calling the billing department.',
    'My account number is four five six seven.',
    'I would like to cancel my subscription, please.',
    'Okay.',
  ];
  const get = () => (call ??= spokenCall(texts, [1000, 1500, 1100, 2000, 1200]));

  it('finds each utterance within 150 ms of its known speech span, with pre-roll in the audio', () => {
    const { pcm, spans } = get();
    const segments = segment(pcm);
    expect(segments.map((g) => [ms(g.startSample), ms(g.endSample)])).toHaveLength(spans.length);
    segments.forEach((g, i) => {
      const span = spans[i]!;
      expect(Math.abs(ms(g.startSample) - span.startMs)).toBeLessThanOrEqual(TOLERANCE_MS);
      expect(Math.abs(ms(g.endSample) - span.endMs)).toBeLessThanOrEqual(TOLERANCE_MS);
      // 200 ms pre-roll before the speech start, and the pcm is the stream's audio at that place
      // (pushInFrames scribbles on its reused array after each push: a kept reference would show).
      expect(g.startSample - g.pcmStartSample).toBe(1600);
      expect(g.pcm).toEqual(pcm.subarray(g.pcmStartSample, g.pcmStartSample + g.pcm.length));
      expect(g.pcmStartSample + g.pcm.length).toBeGreaterThanOrEqual(g.endSample);
    });
  });

  it('keeps the boundaries under line noise mixed into the speech (about −40 dBFS)', () => {
    const { pcm, spans } = get();
    const noisy = Int16Array.from(pcm);
    const noise = lineNoise(pcm.length, 3);
    for (let i = 0; i < noisy.length; i++) noisy[i] = Math.max(-32768, Math.min(32767, noisy[i]! + noise[i]! * 12));
    const segments = segment(noisy);
    expect(segments).toHaveLength(spans.length);
    segments.forEach((g, i) => {
      expect(Math.abs(ms(g.startSample) - spans[i]!.startMs)).toBeLessThanOrEqual(TOLERANCE_MS);
      expect(Math.abs(ms(g.endSample) - spans[i]!.endMs)).toBeLessThanOrEqual(TOLERANCE_MS);
    });
  });

  it('flush ends the open utterance at once; without it the utterance waits for its silence', () => {
    const { pcm, spans } = get();
    const cut = Math.round(((spans[1]!.startMs + 1200) * RATE) / 1000); // mid second sentence
    const held = segment(pcm.subarray(0, cut), {}, false);
    expect(held).toHaveLength(1);
    const flushed = segment(pcm.subarray(0, cut));
    expect(flushed).toHaveLength(2);
    expect(Math.abs(ms(flushed[1]!.startSample) - spans[1]!.startMs)).toBeLessThanOrEqual(TOLERANCE_MS);
    expect(ms(flushed[1]!.endSample)).toBeLessThanOrEqual(ms(cut));
  });

  it('takes every threshold in ms: a shorter end silence splits at shorter pauses, a long one joins', () => {
    const { pcm, spans } = get();
    expect(segment(pcm, { endSilenceMs: 1300 })).toHaveLength(spans.length - 1); // the 1.1 s pause no longer ends one
    const skipped = segment(pcm, { skipStartMs: spans[0]!.endMs + 100 });
    expect(skipped).toHaveLength(spans.length - 1);
    expect(segment(pcm, { minUtteranceMs: 1000 })).toHaveLength(spans.length - 1); // "Okay." is shorter
  });

  it('splits an utterance longer than the maximum at a pause, not mid-word', () => {
    // Three sentences with 500 ms pauses are one utterance for an 800 ms end silence.
    const joined = spokenCall(texts.slice(0, 3), [500, 500, 500, 1000]);
    const segments = segment(joined.pcm, { maxUtteranceMs: 6000 });
    expect(segments.length).toBeGreaterThanOrEqual(2);
    for (const g of segments) expect(ms(g.endSample - g.startSample)).toBeLessThanOrEqual(6000);
    // Each cut lies in one of the pauses between sentences (± a frame or two).
    for (const g of segments.slice(0, -1)) {
      const end = ms(g.endSample);
      const inPause = joined.spans.some((s, i) => i > 0 && end >= joined.spans[i - 1]!.endMs - 60 && end <= s.startMs + 60);
      expect(inPause, `cut at ${end} ms`).toBe(true);
    }
  });
});

describe('segmenter on synthetic audio', () => {
  it('line noise alone yields nothing, and memory stays small (only the pre-roll is kept)', () => {
    const out = segment(lineNoise(RATE * 60));
    expect(out).toEqual([]);
  });
});
