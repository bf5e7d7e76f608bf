/**
 * Minimal RIFF/WAVE reader and writer for the CLI and tests (16-bit PCM and 8-bit µ-law), plus a
 * simple resampler to bring 16 kHz / 22.05 kHz recordings to the 8 kHz the protocol streams.
 */

export interface WavAudio {
  sampleRate: number;
  channels: number;
  format: 'PCMU' | 'L16';
  /** Interleaved sample data: L16 little-endian, or µ-law bytes. */
  data: Uint8Array;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_MULAW = 7;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

function fourcc(buf: Uint8Array, at: number): string {
  return String.fromCharCode(buf[at] ?? 0, buf[at + 1] ?? 0, buf[at + 2] ?? 0, buf[at + 3] ?? 0);
}

export function parseWav(buf: Uint8Array): WavAudio {
  if (buf.length < 12 || fourcc(buf, 0) !== 'RIFF' || fourcc(buf, 8) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let fmt: { tag: number; channels: number; sampleRate: number; blockAlign: number; bits: number } | undefined;
  let at = 12;
  while (at + 8 <= buf.length) {
    const id = fourcc(buf, at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > buf.length) throw new Error('WAV fmt chunk is truncated');
      let tag = view.getUint16(body, true);
      // WAVE_FORMAT_EXTENSIBLE carries the real tag in the first two bytes of the SubFormat GUID.
      if (tag === WAVE_FORMAT_EXTENSIBLE && size >= 40 && body + 26 <= buf.length) {
        tag = view.getUint16(body + 24, true);
      }
      fmt = {
        tag,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        blockAlign: view.getUint16(body + 12, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (!fmt) throw new Error('WAV data chunk comes before the fmt chunk');
      let format: 'PCMU' | 'L16';
      if (fmt.tag === WAVE_FORMAT_PCM && fmt.bits === 16) format = 'L16';
      else if (fmt.tag === WAVE_FORMAT_MULAW && fmt.bits === 8) format = 'PCMU';
      else {
        throw new Error(
          `unsupported WAV encoding (format tag ${fmt.tag}, ${fmt.bits} bits): need 16-bit PCM or 8-bit µ-law`,
        );
      }
      if (fmt.channels < 1) throw new Error('WAV declares no channels');
      if (fmt.sampleRate < 1) throw new Error('WAV declares no sample rate');
      // Streamed WAVs may declare a size past the end (or 0xFFFFFFFF): take what is there, in
      // whole sample frames.
      const frameBytes = (format === 'L16' ? 2 : 1) * fmt.channels;
      const available = Math.min(size, buf.length - body);
      const length = available - (available % frameBytes);
      return {
        sampleRate: fmt.sampleRate,
        channels: fmt.channels,
        format,
        data: buf.subarray(body, body + length),
      };
    }
    // Unknown chunks (LIST, fact, cue …) are skipped; chunks are padded to an even size.
    at = body + size + (size & 1);
  }
  throw new Error(fmt ? 'WAV has no data chunk' : 'WAV has no fmt chunk');
}

export function writeWav(audio: WavAudio): Uint8Array {
  const { sampleRate, channels, format, data } = audio;
  const isMulaw = format === 'PCMU';
  const bytesPerSample = isMulaw ? 1 : 2;
  // Non-PCM formats get the 18-byte fmt (cbSize = 0) and a fact chunk, as the spec asks.
  const fmtSize = isMulaw ? 18 : 16;
  const factSize = isMulaw ? 12 : 0;
  const pad = data.length & 1;
  const total = 12 + 8 + fmtSize + factSize + 8 + data.length + pad;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  const ascii = (at: number, s: string): void => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  view.setUint32(4, total - 8, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, fmtSize, true);
  view.setUint16(20, isMulaw ? WAVE_FORMAT_MULAW : WAVE_FORMAT_PCM, true);
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * channels * bytesPerSample, true);
  view.setUint16(32, channels * bytesPerSample, true);
  view.setUint16(34, bytesPerSample * 8, true);
  let at = 36;
  if (isMulaw) {
    view.setUint16(at, 0, true);
    at += 2;
    ascii(at, 'fact');
    view.setUint32(at + 4, 4, true);
    view.setUint32(at + 8, Math.floor(data.length / channels), true);
    at += 12;
  }
  ascii(at, 'data');
  view.setUint32(at + 4, data.length, true);
  out.set(data, at + 8);
  return out;
}

/** Windowed-sinc (Hamming) low-pass taps, cutoff as a fraction of the input rate (< 0.5). */
function lowPassTaps(cutoff: number, count: number): Float64Array {
  const taps = new Float64Array(count);
  const mid = (count - 1) / 2;
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const x = i - mid;
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    const window = 0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (count - 1));
    taps[i] = sinc * window;
    sum += taps[i] as number;
  }
  for (let i = 0; i < count; i++) taps[i] = (taps[i] as number) / sum; // unity gain at DC
  return taps;
}

/**
 * Linear-interpolation resampler. When downsampling, a small FIR low-pass (just under the new
 * Nyquist) runs first so content above 4 kHz does not fold back into the speech band.
 */
export function resampleLinear(samples: Int16Array, fromRate: number, toRate: number): Int16Array {
  if (!(fromRate > 0) || !(toRate > 0) || !Number.isFinite(fromRate) || !Number.isFinite(toRate)) {
    throw new Error(`invalid resample rates ${fromRate} → ${toRate}`);
  }
  const n = samples.length;
  if (fromRate === toRate || n === 0) return samples.slice();

  let source: Float64Array;
  if (toRate < fromRate) {
    const ratio = fromRate / toRate;
    const count = Math.ceil(8 * ratio) | 1; // odd (symmetric), longer for steeper ratios
    const taps = lowPassTaps((0.45 * toRate) / fromRate, count);
    const half = (count - 1) / 2;
    source = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let k = 0; k < count; k++) {
        const j = i + k - half;
        // Edges: repeat the end samples rather than assume silence (avoids a click).
        const s = samples[j < 0 ? 0 : j >= n ? n - 1 : j] as number;
        acc += s * (taps[k] as number);
      }
      source[i] = acc;
    }
  } else {
    source = Float64Array.from(samples);
  }

  const outLength = Math.max(1, Math.round((n * toRate) / fromRate));
  const out = new Int16Array(outLength);
  const step = fromRate / toRate;
  for (let i = 0; i < outLength; i++) {
    const pos = i * step;
    const i0 = Math.floor(pos);
    const frac = pos - i0;
    const a = source[i0 < n ? i0 : n - 1] as number;
    const b = source[i0 + 1 < n ? i0 + 1 : n - 1] as number;
    const v = Math.round(a + (b - a) * frac);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}
