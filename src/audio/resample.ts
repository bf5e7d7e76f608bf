/**
 * Streaming decimation by an integer factor (24 kHz → 8 kHz, 16 kHz → 8 kHz) for synthesized
 * speech: a Kaiser-windowed sinc low-pass first, so that content above the 4 kHz Nyquist of the
 * output (sibilants of a 24 kHz voice) does not fold back into the telephone band as hiss.
 *
 * The filter is linear-phase and its delay is compensated: output sample m is the filtered input
 * at m × factor, exactly as a one-shot filter over the whole signal would give it. Pieces pushed
 * in any sizes give the same output as one push (the filter keeps its history between pushes).
 */

/** Output band kept flat (Hz), and where the stopband starts: 3.4 kHz is the telephone band. */
const PASS_HZ = 3400;
const STOP_HZ = 4400;
/** Stopband attenuation the filter is designed for, dB. */
const ATTENUATION_DB = 60;

/** Zeroth-order modified Bessel function of the first kind (power series; converges fast here). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

/**
 * Low-pass taps for `inputRate` (Kaiser's design formulas for length and β), normalized to unity
 * gain at DC. Odd length, symmetric.
 */
export function kaiserLowPass(inputRate: number, passHz = PASS_HZ, stopHz = STOP_HZ, attenuationDb = ATTENUATION_DB): Float32Array {
  const transition = (2 * Math.PI * (stopHz - passHz)) / inputRate;
  let count = Math.ceil((attenuationDb - 8) / (2.285 * transition)) + 1;
  if (count % 2 === 0) count++;
  const beta = attenuationDb > 50 ? 0.1102 * (attenuationDb - 8.7) : 0.5842 * (attenuationDb - 21) ** 0.4 + 0.07886 * (attenuationDb - 21);
  const cutoff = (passHz + stopHz) / 2 / inputRate; // cycles per input sample
  const mid = (count - 1) / 2;
  const i0Beta = besselI0(beta);
  const taps = new Float64Array(count);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const x = i - mid;
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    const r = x / mid;
    const window = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0Beta;
    taps[i] = sinc * window;
    sum += taps[i]!;
  }
  return Float32Array.from(taps, (t) => t / sum);
}

export interface Decimator {
  readonly factor: number;
  /** Filters and decimates `pcm`; returns the output samples now complete (possibly none). */
  push(pcm: Int16Array): Int16Array;
  /**
   * The last outputs, with silence assumed after the input: ceil(input samples / factor) in all.
   * The decimator is spent afterwards.
   */
  end(): Int16Array;
}

/** A decimator from `inputRate` to `inputRate / factor`; factor 1 passes samples through. */
export function createDecimator(inputRate: number, outputRate: number): Decimator {
  const factor = inputRate / outputRate;
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`decimation needs an integer ratio, not ${inputRate} → ${outputRate} Hz`);
  if (factor === 1) return { factor, push: (pcm) => pcm.slice(), end: () => new Int16Array(0) };

  const taps = kaiserLowPass(inputRate, Math.min(PASS_HZ, outputRate * 0.425), Math.min(STOP_HZ, outputRate * 0.55));
  const half = (taps.length - 1) / 2;
  // Input samples from absolute index `base` on; the `half` samples before the first are silence.
  let buf = new Float32Array(Math.max(4096, taps.length * 4));
  let length = half;
  let base = -half;
  let next = 0; // absolute input index of the next output's centre
  let total = 0; // real input samples received
  let ended = false;

  function append(pcm: ArrayLike<number>): void {
    if (length + pcm.length > buf.length) {
      const grown = new Float32Array(Math.max(buf.length * 2, length + pcm.length));
      grown.set(buf.subarray(0, length));
      buf = grown;
    }
    for (let i = 0; i < pcm.length; i++) buf[length + i] = pcm[i]!;
    length += pcm.length;
  }

  /** Outputs whose centre is below `limit` and whose inputs are all in the buffer. */
  function drain(limit: number): Int16Array {
    const count = Math.max(0, Math.min(Math.floor((base + length - 1 - half - next) / factor) + 1, Math.ceil((limit - next) / factor)));
    const out = new Int16Array(count);
    const n = taps.length;
    for (let m = 0; m < count; m++) {
      // Taps are symmetric, so convolution is a dot product over the window around the centre.
      const start = next - half - base;
      let acc = 0;
      for (let k = 0; k < n; k++) acc += taps[k]! * buf[start + k]!;
      const v = Math.round(acc);
      out[m] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      next += factor;
    }
    // Keep only what the next output still needs.
    const drop = next - half - base;
    if (drop > 0) {
      buf.copyWithin(0, drop, length);
      length -= drop;
      base += drop;
    }
    return out;
  }

  return {
    factor,
    push(pcm) {
      if (ended) throw new Error('decimator already ended');
      total += pcm.length;
      append(pcm);
      return drain(Infinity);
    },
    end() {
      if (ended) return new Int16Array(0);
      ended = true;
      append(new Float32Array(half));
      return drain(total);
    },
  };
}

/** Whole-buffer decimation (tests, small prompts): the same samples as pushing in pieces. */
export function decimate(pcm: Int16Array, inputRate: number, outputRate: number): Int16Array {
  const d = createDecimator(inputRate, outputRate);
  const head = d.push(pcm);
  const tail = d.end();
  const out = new Int16Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}
