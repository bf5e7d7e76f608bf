/** What one session reports when it ends: the unit the single-call and load reports are built from. */
import type { MediaOffer } from '../../protocol/messages.js';

export interface SessionSummary {
  sessionId: string;
  conversationId: string;
  probe: boolean;
  /** First fatal problem (upgrade rejected, timeout, socket lost …); absent when none. */
  failure?: string;
  /** Every server protocol violation seen, in order. */
  protocolErrors: string[];
  /** HTTP status when the upgrade was refused. */
  upgradeStatus?: number;
  /** `open` sent → `opened` received, milliseconds. */
  openLatencyMs?: number;
  /** The server's media choice; null = no audio. */
  media?: MediaOffer | null;
  supportedLanguages?: string[];
  disconnect?: { reason: string; info?: string };
  /** `closed` arrived. */
  closed: boolean;
  events: number;
  finals: number;
  interims: number;
  otherEntities: number;
  /** Events that came faster than 5/s with bursts of 25 (where Genesys would answer 429). */
  rateLimitExceeded: number;
  /** 429s the client answered them with; present when the session was asked to (SessionOptions.answer429). */
  rateLimitAnswers?: number;
  pings: number;
  pongs: number;
  lastRttMs?: number;
  maxRttMs: number;
  serverPauses: number;
  /** Audio actually sent, seconds. */
  streamedSeconds: number;
  /** Stream position at the end (audio sent plus declared gaps). */
  positionSeconds: number;
  elapsedMs: number;
  /** End of speech → final, when the session measured it (a bounded sample, see latency.ts). */
  finalLatency?: { samplesMs: number[]; unmatched: number };
}

export function emptySummary(sessionId: string, conversationId: string, probe: boolean): SessionSummary {
  return {
    sessionId,
    conversationId,
    probe,
    protocolErrors: [],
    closed: false,
    events: 0,
    finals: 0,
    interims: 0,
    otherEntities: 0,
    rateLimitExceeded: 0,
    pings: 0,
    pongs: 0,
    maxRttMs: 0,
    serverPauses: 0,
    streamedSeconds: 0,
    positionSeconds: 0,
    elapsedMs: 0,
  };
}

/** A session succeeded when it closed cleanly with no violation and no error disconnect. */
export function sessionOk(s: SessionSummary): boolean {
  return (
    s.failure === undefined &&
    s.protocolErrors.length === 0 &&
    s.closed &&
    (s.disconnect === undefined || s.disconnect.reason === 'completed')
  );
}
