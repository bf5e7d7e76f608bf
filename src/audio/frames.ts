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
export function splitChannels(frame: Uint8Array, format: AudioFormat, channelCount: number): Int16Array[] {
  const n = Math.floor(frame.length / (bytesPerSample(format) * channelCount));
  const outs = Array.from({ length: channelCount }, () => new Int16Array(n));
  splitChannelsInto(frame, format, channelCount, outs);
  return outs;
}

/**
 * The hot path: decodes into caller-owned arrays (each at least samples-per-channel long) and
 * returns the samples per channel. Reusing the arrays avoids two typed-array allocations per
 * frame, which cost more than the decoding itself.
 */
export function splitChannelsInto(
  frame: Uint8Array,
  format: AudioFormat,
  channelCount: number,
  outs: readonly Int16Array[],
): number {
  const frameBytes = bytesPerSample(format) * channelCount;
  const n = Math.floor(frame.length / frameBytes);
  const table = MULAW_TO_PCM16;
  if (format === 'PCMU' && channelCount === 2) {
    const a = outs[0] as Int16Array;
    const b = outs[1] as Int16Array;
    for (let i = 0, j = 0; i < n; i++, j += 2) {
      a[i] = table[frame[j] as number] as number;
      b[i] = table[frame[j + 1] as number] as number;
    }
    return n;
  }
  for (let c = 0; c < channelCount; c++) {
    const out = outs[c] as Int16Array;
    if (format === 'PCMU') {
      for (let i = 0, j = c; i < n; i++, j += frameBytes) out[i] = table[frame[j] as number] as number;
    } else {
      // Bytes are assembled by hand: the frame's byteOffset need not be 2-aligned, so no Int16Array
      // view; storing into an Int16Array wraps the unsigned 16-bit value to signed.
      for (let i = 0, j = 2 * c; i < n; i++, j += frameBytes) {
        out[i] = (frame[j] as number) | ((frame[j + 1] as number) << 8);
      }
    }
  }
  return n;
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
