/**
 * What the synthesizers share: the prompt checks, PCM16 bytes with a carried odd byte, and the
 * last step to 8 kHz µ-law chunks.
 */
import { encodeMulaw } from '../audio/mulaw.js';
import { createDecimator, type Decimator } from '../audio/resample.js';
import { resampleLinear } from '../audio/wav.js';
import { SynthesisError } from './types.js';

/** Longest prompt accepted (characters): a bot turn, not a document. */
export const MAX_TEXT_CHARS = 2000;
/** Output chunk size: 200 ms of 8 kHz µ-law, as AudioHook frames are. */
export const CHUNK_BYTES = 1600;

/** The text to speak, control characters removed; throws when it is too long. */
export function checkText(text: string): string {
  // Control characters (NUL, escapes) mean nothing to a synthesizer and some choke on them.
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ').trim();
  if (clean.length > MAX_TEXT_CHARS) {
    throw new SynthesisError(`prompt too long (${clean.length} characters, at most ${MAX_TEXT_CHARS})`, false);
  }
  return clean;
}

/** `bytes` in pieces of at most CHUNK_BYTES (views, no copies). */
export function* chunked(bytes: Uint8Array, size = CHUNK_BYTES): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, Math.min(bytes.length, at + size));
}

/**
 * Little-endian PCM16 bytes arriving in arbitrary pieces → samples: an odd trailing byte is kept
 * for the next piece, so a sample split across network chunks is not lost or misaligned.
 */
export function createPcm16Reader(): { push(bytes: Uint8Array): Int16Array } {
  let carry: number | undefined;
  return {
    push(bytes) {
      const total = bytes.length + (carry === undefined ? 0 : 1);
      const samples = new Int16Array(total >> 1);
      let i = 0;
      let s = 0;
      if (carry !== undefined && bytes.length > 0) {
        samples[s++] = (carry | (bytes[0]! << 8)) << 16 >> 16;
        i = 1;
        carry = undefined;
      }
      for (; i + 1 < bytes.length; i += 2) samples[s++] = (bytes[i]! | (bytes[i + 1]! << 8)) << 16 >> 16;
      if (i < bytes.length) carry = bytes[i];
      return samples;
    },
  };
}

/**
 * PCM16 at `inputRate` → 8 kHz µ-law, streaming. Integer ratios use the low-pass decimator;
 * anything else (a 22.05 kHz voice) is resampled per piece with the simpler linear resampler.
 */
export function createMulawEncoder(inputRate: number): { push(pcm: Int16Array): Uint8Array; end(): Uint8Array } {
  if (inputRate % 8000 === 0) {
    const decimator: Decimator = createDecimator(inputRate, 8000);
    return { push: (pcm) => encodeMulaw(decimator.push(pcm)), end: () => encodeMulaw(decimator.end()) };
  }
  return { push: (pcm) => encodeMulaw(resampleLinear(pcm, inputRate, 8000)), end: () => new Uint8Array(0) };
}
