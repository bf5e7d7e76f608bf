/** What the Genesys client does, as far as a simulator needs to copy it (protocol §3.2, §5, §7). */
import type { MediaOffer } from '../../protocol/messages.js';

/** What Genesys offers a transcription connector: stereo first, then each party alone. */
export const GENESYS_OFFERS: readonly MediaOffer[] = [
  { type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 },
  { type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 },
  { type: 'audio', format: 'PCMU', channels: ['internal'], rate: 8000 },
];

/** Client timers (protocol §3.2). Tests shorten them. */
export interface SessionTimers {
  openMs: number;
  firstPingMs: number;
  pingIntervalMs: number;
  closeMs: number;
}
export const GENESYS_TIMERS: SessionTimers = { openMs: 5_000, firstPingMs: 1_000, pingIntervalMs: 5_000, closeMs: 10_000 };

/** Rate limits in use by existing connectors (§7): over them Genesys would answer 429. */
export const RATE_PER_SECOND = 5;
export const RATE_BURST = 25;

/**
 * Genesys' view of the server's pace: a token bucket of RATE_BURST refilled at RATE_PER_SECOND.
 * Returns whether a message arriving at `now` fits; one that does not is where Genesys answers 429.
 */
export function createRateLimit(now: number): (now: number) => boolean {
  let tokens = RATE_BURST;
  let tokensAt = now;
  return (at) => {
    tokens = Math.min(RATE_BURST, tokens + ((at - tokensAt) / 1000) * RATE_PER_SECOND);
    tokensAt = at;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}
