/**
 * Media selection (protocol §5). The chosen offer is returned as the very object received so the
 * `opened` reply echoes it unchanged, channel order included.
 */
import type { MediaOffer } from './messages.js';

export type SupportedFormat = 'PCMU' | 'L16';

/** AudioHook audio is always 8 kHz. */
export const SAMPLE_RATE = 8000;

/** True when we can decode this offer: audio, 8 kHz, PCMU/L16, 1–2 distinct known channels. */
export function isSupportedOffer(offer: MediaOffer): boolean {
  // Checked at runtime in full: offers come off the wire, whatever their static type says.
  const o = offer as unknown as Record<string, unknown>;
  if (typeof o !== 'object' || o === null) return false;
  if (o.type !== 'audio' || o.rate !== SAMPLE_RATE) return false;
  if (o.format !== 'PCMU' && o.format !== 'L16') return false;
  const ch = o.channels;
  if (!Array.isArray(ch) || ch.length < 1 || ch.length > 2) return false;
  if (!ch.every((c) => c === 'external' || c === 'internal')) return false;
  return new Set(ch).size === ch.length;
}

/**
 * Picks the offer to accept, in this order of preference: first stereo PCMU, first mono PCMU,
 * first stereo L16, first mono L16 (stereo gives both parties; PCMU halves the bandwidth).
 * Returns undefined when nothing fits (answer `disconnect error "no supported media"`).
 */
export function chooseMedia(offers: readonly MediaOffer[]): MediaOffer | undefined {
  const usable = offers.filter(isSupportedOffer);
  const preference: Array<[SupportedFormat, number]> = [['PCMU', 2], ['PCMU', 1], ['L16', 2], ['L16', 1]];
  for (const [format, channels] of preference) {
    const hit = usable.find((o) => o.format === format && o.channels.length === channels);
    if (hit) return hit;
  }
  return undefined;
}

/** Bytes per sample per channel: PCMU 1 (µ-law), L16 2 (signed 16-bit LE). */
export function bytesPerSample(format: string): 1 | 2 {
  if (format === 'PCMU') return 1;
  if (format === 'L16') return 2;
  throw new RangeError(`unsupported audio format '${format}'`);
}

/** Bytes per sample frame (one sample of every channel, interleaved). */
export function bytesPerFrame(offer: MediaOffer): number {
  return bytesPerSample(offer.format) * offer.channels.length;
}
