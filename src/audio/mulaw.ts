/**
 * G.711 µ-law codec. Decoding is a 256-entry table built once: the hot path (every inbound PCMU
 * byte of every session) is then one indexed load per sample.
 */

const BIAS = 0x84;
const CLIP = 32635;

function decodeByte(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
  return u & 0x80 ? -magnitude : magnitude;
}

export const MULAW_TO_PCM16: Int16Array = (() => {
  const table = new Int16Array(256);
  for (let i = 0; i < 256; i++) table[i] = decodeByte(i);
  return table;
})();

/** Segment (exponent) of a biased magnitude, indexed by `magnitude >> 7`. */
const EXPONENT_OF: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (let i = 1; i < 256; i++) table[i] = 31 - Math.clz32(i);
  return table;
})();

/** Encodes one PCM16 sample (standard G.711: bias 0x84, clip 32635). */
export function encodeMulawSample(sample: number): number {
  let s = sample | 0;
  const sign = (s >> 8) & 0x80;
  if (sign !== 0) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  const exponent = EXPONENT_OF[(s >> 7) & 0xff] as number;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

export function decodeMulaw(bytes: Uint8Array): Int16Array {
  const n = bytes.length;
  const out = new Int16Array(n);
  const table = MULAW_TO_PCM16;
  for (let i = 0; i < n; i++) out[i] = table[bytes[i] as number] as number;
  return out;
}

export function encodeMulaw(samples: Int16Array): Uint8Array {
  const n = samples.length;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = encodeMulawSample(samples[i] as number);
  return out;
}
