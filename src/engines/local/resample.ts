/**
 * 8 kHz → 16 kHz for pocketsphinx's wideband model: a half-band interpolator. Even output
 * samples are the input samples; odd ones are interpolated by a Blackman-windowed sinc, so the
 * images above 4 kHz that linear interpolation would leave (and the model would hear as hiss in
 * its 4–6.8 kHz filters) are suppressed.
 */

/** Taps on each side of the interpolated point (16 in all). */
const HALF_TAPS = 8;

const TAPS: Float64Array = (() => {
  const taps = new Float64Array(HALF_TAPS);
  const edge = HALF_TAPS + 0.5; // where the (centred) window reaches zero, just past the last tap
  let sum = 0;
  for (let k = 0; k < HALF_TAPS; k++) {
    const t = k + 0.5; // distance, in input samples, of the k-th neighbour on each side
    const sinc = Math.sin(Math.PI * t) / (Math.PI * t);
    const window = 0.42 + 0.5 * Math.cos((Math.PI * t) / edge) + 0.08 * Math.cos((2 * Math.PI * t) / edge);
    taps[k] = sinc * window;
    sum += 2 * sinc * window;
  }
  for (let k = 0; k < HALF_TAPS; k++) taps[k] = (taps[k] as number) / sum; // unit gain at DC
  return taps;
})();

/** Twice as many samples at twice the rate; the ends repeat the edge samples (no click). */
export function upsample2x(input: Int16Array): Int16Array {
  const n = input.length;
  const out = new Int16Array(2 * n);
  const last = n - 1;
  for (let i = 0; i < n; i++) {
    out[2 * i] = input[i] as number;
    let acc = 0;
    for (let k = 0; k < HALF_TAPS; k++) {
      const before = i - k;
      const after = i + 1 + k;
      acc += (TAPS[k] as number) * ((input[before < 0 ? 0 : before] as number) + (input[after > last ? last : after] as number));
    }
    // Int16Array stores wrap rather than clip: clip the overshoot the filter can add.
    out[2 * i + 1] = acc > 32767 ? 32767 : acc < -32768 ? -32768 : Math.round(acc);
  }
  return out;
}
