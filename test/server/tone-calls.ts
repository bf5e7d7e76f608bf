/** Calls of tone-coded words (fake-google-speech/vocabulary.ts) for the Google engine's tests. */
import { WORDS, type SynthesizedSpeech } from '../../src/testing/fake-google-speech/vocabulary.js';

/** A sequence of utterances of 1–3 words, cycling through the vocabulary from `first`. */
export function script(utterances: number, first = 0): string[][] {
  let k = first;
  return Array.from({ length: utterances }, (_, i) => Array.from({ length: 1 + (i % 3) }, () => WORDS[k++ % WORDS.length]!));
}

/** Pads the shorter channel with silence so both have the same length. */
export function stereo(a: SynthesizedSpeech, b: SynthesizedSpeech): [Int16Array, Int16Array] {
  const n = Math.max(a.pcm.length, b.pcm.length);
  const pad = (x: Int16Array) => {
    const out = new Int16Array(n);
    out.set(x);
    return out;
  };
  return [pad(a.pcm), pad(b.pcm)];
}
