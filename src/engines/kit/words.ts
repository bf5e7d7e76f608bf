/** Word times of an utterance's result, placed on its stream. */
import type { RecognizedWord } from '../types.js';
import type { Segment } from './segmenter.js';

/**
 * Real word times (relative to pcm[0]) shifted onto the stream and kept within the audio sent;
 * without them (`wordTimes` false), the words spread over the speech span in proportion to their
 * length, keeping their confidence.
 */
export function placeWords(
  words: readonly RecognizedWord[],
  segment: Segment,
  span: { startMs: number; endMs: number },
  sampleRate: number,
  wordTimes: boolean,
): RecognizedWord[] {
  if (wordTimes) {
    const base = (segment.pcmStartSample * 1000) / sampleRate;
    const last = ((segment.pcmStartSample + segment.pcm.length) * 1000) / sampleRate;
    const clamp = (ms: number) => Math.round(Math.min(last, Math.max(base, base + ms)));
    return words.map((w) => ({ ...w, startMs: clamp(w.startMs), endMs: clamp(w.endMs) }));
  }
  const total = words.reduce((n, w) => n + w.text.length, 0);
  const width = span.endMs - span.startMs;
  let chars = 0;
  return words.map((w) => {
    const startMs = span.startMs + (total > 0 ? (width * chars) / total : 0);
    chars += w.text.length;
    const endMs = span.startMs + (total > 0 ? (width * chars) / total : 0);
    return { ...w, startMs: Math.round(startMs), endMs: Math.round(endMs) };
  });
}
