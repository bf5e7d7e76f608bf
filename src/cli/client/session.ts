/**
 * One AudioHook session driven the way the Genesys client drives it: signed upgrade, `open` with
 * stereo PCMU first, 200 ms frames paced on the stream clock, ping ~1 s after `opened` then every
 * 5 s, pause/resume handling, scripted client events, `close` at the end and a wait for `closed`.
 * Every server message is checked; any violation is recorded and ends the session the way the
 * client would (`error` then `close {reason:"error"}`).
 *
 * This file sets a session up (ids, the upgrade, the `open` parameters) and reports it; the call
 * (call.ts) runs it, with the pacer (pacer.ts) playing the audio and the checker (checker.ts)
 * judging the server.
 *
 * Never rejects: the outcome, good or bad, is in the returned summary.
 */
import { randomUUID } from 'node:crypto';
import { NULL_UUID } from '../../protocol/auth.js';
import type { MediaOffer } from '../../protocol/messages.js';
import { FRAME_SECONDS, type AudioSource } from './audio-source.js';
import { createCall } from './call.js';
import { connect } from './connect.js';
import { GENESYS_OFFERS, GENESYS_TIMERS, type SessionTimers } from './genesys.js';
import { createLatencyProbe } from './latency.js';
import { framesToStream } from './pacer.js';
import { EMPTY_SCRIPT, type CallScript } from './script.js';
import { emptySummary, type SessionSummary } from './summary.js';
import { defaultTicker, type Ticker } from './ticker.js';
import type { Transcript } from './validate.js';

export interface SessionOptions {
  url: string;
  apiKey: string;
  clientSecret?: string | undefined;
  organizationId: string;
  sessionId?: string;
  conversationId?: string;
  /** Connection probe (§9): null conversation and participant, no audio, close right after `opened`. */
  probe?: boolean;
  language?: string | undefined;
  supportedLanguages?: boolean;
  customConfig?: Record<string, unknown>;
  /** Required unless `probe`. */
  source?: AudioSource;
  /** Stream-clock speed-up; 1 = real time. */
  speed?: number;
  /** Stream this many seconds: the file is cut short, or repeated when `loop`. */
  durationSeconds?: number | undefined;
  loop?: boolean;
  script?: CallScript;
  offers?: readonly MediaOffer[];
  timers?: Partial<SessionTimers>;
  ticker?: Ticker;
  /** Ends the call early (a clean `close {reason:"end"}`). */
  signal?: AbortSignal;
  onTranscript?: (t: Transcript, sessionId: string) => void;
  /** Human-readable happenings: server pause/resume, disconnect, violations. */
  onNotice?: (text: string, sessionId: string) => void;
  /** Called once, when `opened` arrives (load mode counts streaming sessions with it). */
  onOpened?: (sessionId: string) => void;
  /**
   * Measure end of speech → final (see latency.ts) for a recognizer that ends an utterance after
   * `endpointMs` of silence; the sample goes into the summary.
   */
  latency?: { endpointMs: number };
  /**
   * Act as Genesys does when the server sends events faster than 5/s (bursts of 25): answer each
   * such event with `error {code: 429, retryAfter}`. An event the server writes after reading
   * the 429 that arrives before `retryAfterSeconds` are over is then a violation. Without it the
   * client only counts those events (`rateLimitExceeded`).
   */
  answer429?: { retryAfterSeconds: number };
}

export async function runSession(opts: SessionOptions): Promise<SessionSummary> {
  const sessionId = opts.sessionId ?? randomUUID();
  const probe = opts.probe ?? false;
  const conversationId = probe ? NULL_UUID : (opts.conversationId ?? randomUUID());
  const timers = { ...GENESYS_TIMERS, ...opts.timers };
  const summary = emptySummary(sessionId, conversationId, probe);
  const started = performance.now();

  if (!probe && !opts.source) throw new Error('runSession: source is required unless probe');
  if (opts.signal?.aborted) return { ...summary, failure: 'aborted before start' };

  const conn = await connect({
    url: opts.url,
    apiKey: opts.apiKey,
    clientSecret: opts.clientSecret,
    organizationId: opts.organizationId,
    sessionId,
    correlationId: randomUUID(),
    handshakeTimeoutMs: timers.openMs * 2,
  });
  if (!conn.ok) {
    summary.failure = conn.error;
    if (conn.status !== undefined) summary.upgradeStatus = conn.status;
    summary.elapsedMs = performance.now() - started;
    return summary;
  }
  if (opts.signal?.aborted) {
    conn.ws.terminate();
    return { ...summary, failure: 'aborted', elapsedMs: performance.now() - started };
  }

  const offers = opts.offers ?? GENESYS_OFFERS;
  const askedForLanguages = opts.supportedLanguages === true || probe;
  const latency = opts.latency && !probe ? createLatencyProbe(opts.latency.endpointMs) : undefined;
  const call = createCall(
    conn.ws,
    {
      sessionId,
      probe,
      source: opts.source,
      offers,
      askedForLanguages,
      timers,
      ticker: opts.ticker ?? defaultTicker,
      speed: opts.speed ?? 1,
      totalFrames: framesToStream(opts.source, opts.durationSeconds, opts.loop ?? false),
      script: opts.script ?? EMPTY_SCRIPT,
      latency,
      answer429: opts.answer429,
      signal: opts.signal,
      onTranscript: (t) => opts.onTranscript?.(t, sessionId),
      onOpened: () => opts.onOpened?.(sessionId),
      notice: (text) => opts.onNotice?.(text, sessionId),
    },
    summary,
  );

  await call.open(openParameters(opts, conversationId, probe, offers, askedForLanguages));
  summary.streamedSeconds = call.framesSent * FRAME_SECONDS;
  summary.positionSeconds = call.position();
  summary.elapsedMs = performance.now() - started;
  if (latency) summary.finalLatency = { samplesMs: [...latency.samples], unmatched: latency.unmatched };
  return summary;
}

/** `open` as Genesys sends it; a probe has a null participant as well as a null conversation. */
function openParameters(
  opts: SessionOptions,
  conversationId: string,
  probe: boolean,
  offers: readonly MediaOffer[],
  askedForLanguages: boolean,
): Record<string, unknown> {
  const participant = probe
    ? { id: NULL_UUID, ani: '', aniName: '', dnis: '' }
    : { id: randomUUID(), ani: '+13175550100', aniName: 'Simulated Caller', dnis: '+13175550199' };
  const parameters: Record<string, unknown> = { organizationId: opts.organizationId, conversationId, participant, media: offers };
  if (opts.language) parameters.language = opts.language;
  if (askedForLanguages) parameters.supportedLanguages = true;
  if (opts.customConfig && Object.keys(opts.customConfig).length > 0) parameters.customConfig = opts.customConfig;
  return parameters;
}
