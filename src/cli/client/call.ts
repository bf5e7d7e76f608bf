/**
 * One call on a connected socket, from `open` to the socket's end: the session state, the
 * client's messages (seq, serverseq, position), the open/close deadlines and pings on the shared
 * ticker, and what the client does with each server message the checker let through. The pacer
 * plays the audio; the checker judges the server; the outcome goes into the summary.
 */
import type WebSocket from 'ws';
import { formatDuration } from '../../protocol/duration.js';
import { serializeClientMessage, type ClientMessageType, type MediaOffer } from '../../protocol/messages.js';
import type { AudioSource } from './audio-source.js';
import { createServerChecker, type CallState } from './checker.js';
import { closeSocket } from './connect.js';
import { createRateLimit, type SessionTimers } from './genesys.js';
import type { LatencyProbe } from './latency.js';
import { createPacer } from './pacer.js';
import type { CallScript } from './script.js';
import type { SessionSummary } from './summary.js';
import type { Ticker } from './ticker.js';
import type { Transcript } from './validate.js';

export interface CallOptions {
  sessionId: string;
  probe: boolean;
  /** Absent for a probe, which streams nothing. */
  source: AudioSource | undefined;
  offers: readonly MediaOffer[];
  askedForLanguages: boolean;
  timers: SessionTimers;
  ticker: Ticker;
  speed: number;
  /** Frames in all (see `framesToStream`). */
  totalFrames: number;
  script: CallScript;
  latency: LatencyProbe | undefined;
  /** Answer events over Genesys' rate with 429 and this hold (see SessionOptions.answer429). */
  answer429: { retryAfterSeconds: number } | undefined;
  signal: AbortSignal | undefined;
  onTranscript(t: Transcript): void;
  onOpened(): void;
  notice(text: string): void;
}

export interface Call {
  /** Sends `open`; resolves when the socket has ended, whatever the outcome (see the summary). */
  open(parameters: Record<string, unknown>): Promise<void>;
  /** Stream position, seconds. */
  position(): number;
  readonly framesSent: number;
}

/** The socket must be open. Everything the call sees and does is written into `summary`. */
export function createCall(ws: WebSocket, opts: CallOptions, summary: SessionSummary): Call {
  const { timers, probe } = opts;
  let state: CallState = 'opening';
  let seq = 0;
  let openSentAt = 0;
  let deadline = 0; // of the open or close transaction under way
  let nextPingAt = Infinity;
  const withinRate = createRateLimit(performance.now());
  if (opts.answer429) summary.rateLimitAnswers = 0;

  const send = (type: ClientMessageType, parameters: object): number => {
    seq += 1;
    if (ws.readyState === ws.OPEN) {
      ws.send(serializeClientMessage({ id: opts.sessionId, type, seq, serverseq: checker.lastServerSeq, position: pacer.position(), parameters }));
    }
    return seq;
  };

  const pacer = createPacer({
    fileFrames: opts.source?.frameCount ?? 0,
    totalFrames: opts.totalFrames,
    speed: opts.speed,
    script: opts.script,
    send,
    sendFrame: (frame, index) => {
      ws.send(frame);
      opts.latency?.frameSent(index, performance.now());
    },
    notice: opts.notice,
  });

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  const finish = (failure?: string): void => {
    if (state === 'done') return;
    state = 'done';
    if (failure && !summary.failure) summary.failure = failure;
    untick();
    opts.signal?.removeEventListener('abort', onAbort);
    closeSocket(ws, resolveDone);
  };

  const close = (reason: 'end' | 'error' | 'disconnect'): void => {
    if (state !== 'open' && state !== 'opening') return;
    state = 'closing';
    checker.closeSent(send('close', { reason }));
    deadline = performance.now() + timers.closeMs;
  };

  /** What Genesys does when the server sends faster than it allows (protocol §7). */
  const tooManyRequests = (now: number): void => {
    if (!opts.answer429) return;
    const { retryAfterSeconds } = opts.answer429;
    const errorSeq = send('error', { code: 429, message: 'Too many requests', retryAfter: formatDuration(retryAfterSeconds) });
    checker.holdRequested(errorSeq, now, retryAfterSeconds * 1000);
    summary.rateLimitAnswers = (summary.rateLimitAnswers ?? 0) + 1;
  };

  const checker = createServerChecker({
    sessionId: opts.sessionId,
    offers: opts.offers,
    askedForLanguages: opts.askedForLanguages,
    violations: summary.protocolErrors,
    state: () => state,
    channels: () => summary.media?.channels ?? [],
    lastClientSeq: () => seq,
    onViolation: (text, code) => {
      opts.notice(`protocol violation: ${text}`);
      if (state === 'open' || state === 'opening') {
        send('error', { code, message: text.slice(0, 200) });
        close('error');
      }
    },
    onOpened: (opened, now) => {
      state = 'open';
      summary.openLatencyMs = now - openSentAt;
      summary.media = opened.media;
      if (opened.supportedLanguages) summary.supportedLanguages = opened.supportedLanguages;
      opts.onOpened();
      if (probe) return close('end');
      nextPingAt = now + timers.firstPingMs;
      pacer.start(now, opened.media && opts.source ? opts.source.framesFor(opened.media) : [], opened.discardTo);
      if (opened.startPaused) {
        pacer.serverPause();
        opts.notice('server asked to start paused');
      }
    },
    onPong: (rttMs) => {
      summary.lastRttMs = rttMs;
      summary.maxRttMs = Math.max(summary.maxRttMs, rttMs);
      summary.pongs += 1;
    },
    onEvent: (event, now) => {
      summary.events += 1;
      summary.otherEntities += event.otherEntities;
      if (!withinRate(now)) {
        summary.rateLimitExceeded += 1;
        tooManyRequests(now);
      }
      for (const t of event.transcripts) {
        if (t.isFinal) {
          summary.finals += 1;
          opts.latency?.final(t.offset + t.duration, now);
        } else summary.interims += 1;
        opts.onTranscript(t);
      }
    },
    onPause: () => {
      if (state !== 'open') return; // racing our close: nothing left to pause
      summary.serverPauses += 1;
      pacer.serverPause();
      opts.notice(`server paused the stream at ${pacer.position().toFixed(1)} s`);
    },
    onResume: () => {
      if (state !== 'open') return;
      pacer.serverResume();
      opts.notice(`server resumed the stream at ${pacer.position().toFixed(1)} s`);
    },
    onDisconnect: (reason, info) => {
      summary.disconnect = { reason, ...(info === undefined ? {} : { info }) };
      opts.notice(`server disconnected: ${reason}${info ? ` (${info})` : ''}`);
      close('disconnect');
    },
    onClosed: () => {
      summary.closed = true;
      finish();
    },
  });

  const onTick = (now: number): void => {
    if (state === 'opening' && now > deadline) {
      checker.record(`no opened within ${timers.openMs / 1000} s`);
      return finish(`open timed out (408)`);
    }
    if (state === 'closing' && now > deadline) {
      checker.record(`no closed within ${timers.closeMs / 1000} s`);
      return finish(`close timed out (408)`);
    }
    if (state === 'open' && now >= nextPingAt) {
      const waiting = checker.pendingPing;
      if (waiting) return checker.violation(`no pong for ping seq ${waiting.seq} within ${timers.pingIntervalMs / 1000} s`, 408);
      const rtt = summary.lastRttMs;
      checker.pingSent(send('ping', rtt === undefined ? {} : { rtt: formatDuration(rtt / 1000) }), now);
      summary.pings += 1;
      nextPingAt = now + timers.pingIntervalMs;
    }
    if (state === 'open' && !probe && pacer.tick(now)) close('end');
  };
  const untick = opts.ticker.add(onTick);

  const onAbort = (): void => {
    if (state === 'open') close('end');
    else if (state === 'opening') finish('aborted');
  };
  opts.signal?.addEventListener('abort', onAbort);

  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (state !== 'done') checker.receive(data, isBinary, performance.now());
  });
  ws.on('close', (code) => {
    if (state !== 'done') finish(`connection closed by the server before closed (WebSocket code ${code})`);
    else resolveDone();
  });
  ws.on('error', (err) => {
    if (state !== 'done') finish(`connection error: ${err.message}`);
  });

  return {
    open(parameters) {
      openSentAt = performance.now();
      deadline = openSentAt + timers.openMs;
      send('open', parameters);
      return done;
    },
    position: pacer.position,
    get framesSent() {
      return pacer.framesSent;
    },
  };
}
