/**
 * Binary audio frames (protocol §5): validation, de-interleaving into mono PCM16 per channel, and
 * the inverse for the test client. Loops are plain indexed loops over typed arrays: this runs for
 * every frame of every session.
 */
import { MULAW_TO_PCM16, encodeMulawSample } from './mulaw.js';

export type AudioFormat = 'PCMU' | 'L16';

function bytesPerSample(format: AudioFormat): number {
  return format === 'PCMU' ? 1 : 2;
}

/** undefined when the frame holds a whole, non-zero number of sample frames; else why not. */
export function checkFrame(
  byteLength: number,
  format: AudioFormat,
  channelCount: number,
): string | undefined {
  if (!Number.isInteger(channelCount) || channelCount < 1) {
    return `invalid channel count ${channelCount}`;
  }
  if (byteLength === 0) return 'empty audio frame';
  if (byteLength % (bytesPerSample(format) * channelCount) !== 0) {
    return `frame of ${byteLength} bytes is not a whole number of ${channelCount}-channel ${format} samples`;
  }
  return undefined;
}

/**
 * One mono PCM16 array per channel, in the order of the selected media's `channels`.
 * Assumes `checkFrame` passed; a trailing partial sample frame is ignored.
 */
export function splitChannels(
  frame: Uint8Array,
  format: AudioFormat,
  channelCount: number,
): Int16Array[] {
  const frameBytes = bytesPerSample(format) * channelCount;
  const n = Math.floor(frame.length / frameBytes);
  const table = MULAW_TO_PCM16;

  // Specialised stereo/mono loops: the overwhelmingly common cases, no inner channel loop.
  if (format === 'PCMU') {
    if (channelCount === 1) {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = table[frame[i] as number] as number;
      return [out];
    }
    if (channelCount === 2) {
      const a = new Int16Array(n);
      const b = new Int16Array(n);
      for (let i = 0, j = 0; i < n; i++, j += 2) {
        a[i] = table[frame[j] as number] as number;
        b[i] = table[frame[j + 1] as number] as number;
      }
      return [a, b];
    }
  } else if (channelCount === 2) {
    // Bytes are assembled by hand: the frame's byteOffset need not be 2-aligned, so no Int16Array view.
    const a = new Int16Array(n);
    const b = new Int16Array(n);
    for (let i = 0, j = 0; i < n; i++, j += 4) {
      a[i] = (frame[j] as number) | ((frame[j + 1] as number) << 8);
      b[i] = (frame[j + 2] as number) | ((frame[j + 3] as number) << 8);
    }
    return [a, b];
  }

  const outs: Int16Array[] = [];
  for (let c = 0; c < channelCount; c++) outs.push(new Int16Array(n));
  for (let c = 0; c < channelCount; c++) {
    const out = outs[c] as Int16Array;
    if (format === 'PCMU') {
      for (let i = 0, j = c; i < n; i++, j += frameBytes) out[i] = table[frame[j] as number] as number;
    } else {
      // Storing into an Int16Array wraps the unsigned 16-bit value to signed.
      for (let i = 0, j = 2 * c; i < n; i++, j += frameBytes) {
        out[i] = (frame[j] as number) | ((frame[j + 1] as number) << 8);
      }
    }
  }
  return outs;
}

/** Inverse of `splitChannels`: interleaves equal-length mono channels into one wire frame. */
export function interleave(channels: Int16Array[], format: AudioFormat): Uint8Array {
  const channelCount = channels.length;
  if (channelCount === 0) return new Uint8Array(0);
  const n = (channels[0] as Int16Array).length;
  for (const ch of channels) {
    if (ch.length !== n) throw new Error('interleave: channels differ in length');
  }
  const bps = bytesPerSample(format);
  const stride = bps * channelCount;
  const out = new Uint8Array(n * stride);
  for (let c = 0; c < channelCount; c++) {
    const ch = channels[c] as Int16Array;
    if (format === 'PCMU') {
      for (let i = 0, j = c; i < n; i++, j += stride) out[j] = encodeMulawSample(ch[i] as number);
    } else {
      for (let i = 0, j = 2 * c; i < n; i++, j += stride) {
        const s = ch[i] as number;
        out[j] = s & 0xff;
        out[j + 1] = (s >> 8) & 0xff;
      }
    }
  }
  return out;
}
