/**
 * One voice-bot call played the way Genesys Audio Connector plays it: signed upgrade, `open` with
 * the one media Audio Connector offers (mono external PCMU), continuous caller audio with the
 * script's files and digits, pings, playback events for the bot's audio, and the close handshake
 * (the caller hangs up, or answers the server's `disconnect`).
 *
 * Text messages go through the Genesys-like checker of `simulate` (checker.ts); binary frames,
 * which that checker refuses, are the bot's audio here and go to the player tracker and the frame
 * checker instead. Never rejects: the outcome is in the result.
 */
import { randomUUID } from 'node:crypto';
import { parseServerMessage, serializeClientMessage, type ClientMessageType, type MediaOffer, type ServerMessage } from '../../protocol/messages.js';
import { createServerChecker, type CallState } from '../client/checker.js';
import { closeSocket, connect } from '../client/connect.js';
import { GENESYS_TIMERS, type SessionTimers } from '../client/genesys.js';
import { defaultTicker, type Ticker } from '../client/ticker.js';
import { createCaller } from './caller.js';
import { createFrameChecker } from './frame-check.js';
import { createPlayerTracker } from './player-tracker.js';
import { buildResult, type CallEvent, type VoiceBotCallResult, type Who } from './report.js';
import type { VoiceBotScript } from './script.js';
import { createStepRunner } from './steps.js';

/** Audio Connector offers the caller's side only, as PCMU. */
export const AUDIO_CONNECTOR_OFFERS: readonly MediaOffer[] = [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }];

export interface VoiceBotCallOptions {
  url: string;
  apiKey: string;
  clientSecret?: string | undefined;
  organizationId: string;
  sessionId?: string;
  conversationId?: string;
  language: string;
  inputVariables: Record<string, string>;
  ani: string;
  dnis: string;
  script: VoiceBotScript;
  /** The call ends (caller hangs up) this long after `open` whatever happens. */
  maxSeconds: number;
  maxLeadMs: number;
  /** Send playback_started / playback_completed (Genesys does). */
  playbackEvents: boolean;
  /** Any binary frame is a finding (a session that is not a voice-bot one). */
  expectNoAudio: boolean;
  promptTimeoutSeconds: number;
  timers?: Partial<SessionTimers>;
  ticker?: Ticker;
}

export interface VoiceBotIo {
  /** Each happening as it happens (the live output). */
  onEvent?: (e: CallEvent) => void;
  /** Ends the call early with a clean close. */
  signal?: AbortSignal;
}

export async function runVoiceBotCall(options: VoiceBotCallOptions, io: VoiceBotIo = {}): Promise<VoiceBotCallResult> {
  const sessionId = options.sessionId ?? randomUUID();
  const conversationId = options.conversationId ?? randomUUID();
  const timers = { ...GENESYS_TIMERS, ...options.timers };
  const started = performance.now();
  const base = { sessionId, conversationId, url: options.url };

  const conn = await connect({
    url: options.url,
    apiKey: options.apiKey,
    clientSecret: options.clientSecret,
    organizationId: options.organizationId,
    sessionId,
    correlationId: randomUUID(),
    handshakeTimeoutMs: timers.openMs * 2,
  });
  if (!conn.ok) {
    return buildResult({ ...base, failure: conn.error, elapsedMs: performance.now() - started });
  }
  const ws = conn.ws;

  let state: CallState = 'opening';
  let seq = 0;
  let deadline = 0;
  let nextPingAt = Infinity;
  let failure: string | undefined;
  let closed = false;
  let openLatencyMs: number | undefined;
  let media: MediaOffer | null | undefined;
  let current: ServerMessage | undefined;
  let disconnect: { reason: string; info?: string; outputVariables?: Record<string, string> } | undefined;
  let unplayedAtDisconnectMs: number | undefined;
  let audioAfterDisconnect = 0;
  let dtmfSent = 0;
  const playback = { started: 0, completed: 0 };
  const protocolErrors: string[] = [];
  const eventFindings: string[] = [];
  const events: CallEvent[] = [];
  const botTurnResponses: Array<Record<string, unknown>> = [];
  let bargeIns = 0;
  /** When each bot frame arrived, seconds since open. */
  const frameArrivals: number[] = [];
  const t0 = performance.now();

  const log = (at: number, who: Who, type: string, text: string, data?: Record<string, unknown>): void => {
    const e: CallEvent = { t: Math.round(at - t0) / 1000, who, type, text, ...(data ? { data } : {}) };
    events.push(e);
    io.onEvent?.(e);
  };

  const caller = createCaller({
    sendFrame: (frame) => {
      if (ws.readyState === ws.OPEN) ws.send(frame);
    },
    send: (type, p) => {
      send(type, p);
      log(performance.now(), 'caller', type, type === 'paused' ? '⏸ on hold' : '⏵ back from hold');
    },
  });

  const send = (type: ClientMessageType, parameters: object): number => {
    seq += 1;
    if (ws.readyState === ws.OPEN) {
      ws.send(serializeClientMessage({ id: sessionId, type, seq, serverseq: checker.lastServerSeq, position: caller.position(), parameters }));
    }
    return seq;
  };

  const frameChecker = createFrameChecker({ maxLeadMs: options.maxLeadMs, expectNoAudio: options.expectNoAudio, now: t0 });
  const tracker = createPlayerTracker({
    t0,
    playbackEvents: options.playbackEvents,
    // Nothing but close may follow our close (and nothing is played once the call ends).
    send: (type) => {
      if (state === 'open') send(type, {});
    },
    checker: frameChecker,
    onPromptStart: (p) => log(p.startAt, 'bot', 'prompt_start', `▶ speaking (prompt ${p.index})`, { prompt: p.index }),
    onPromptEnd: (p) => {
      const seconds = Math.round(p.bytes / 800) / 10;
      const flushed = p.flushedMs > 0 ? `, ${(p.flushedMs / 1000).toFixed(1)} s cut by barge-in` : '';
      log(p.playEnd, 'bot', 'prompt_end', `■ ${seconds} s of audio${flushed}`, { prompt: p.index, frames: p.frames });
    },
    onPlayback: (type, at) => {
      if (state !== 'open' || !options.playbackEvents) return;
      playback[type === 'playback_started' ? 'started' : 'completed'] += 1;
      log(at, 'player', type, type);
    },
    onFinding: (text, at, prompt) => log(at, 'check', 'finding', `✗ ${text}`, { prompt }),
  });

  const steps = createStepRunner({
    script: options.script,
    tracker,
    caller,
    promptTimeoutSeconds: options.promptTimeoutSeconds,
    sendDtmf: (digit, at) => {
      if (state !== 'open') return;
      send('dtmf', { digit });
      dtmfSent += 1;
      log(at, 'caller', 'dtmf', `☎ dtmf ${digit}`, { digit });
    },
    hangup: (at) => {
      if (state !== 'open') return;
      log(at, 'caller', 'hangup', '✆ hang up');
      close('end');
    },
    onPlay: (p, seconds) => log(p.startMs, 'caller', 'play', `▶ ${p.file} (${seconds.toFixed(1)} s)`, { step: p.step, file: p.file }),
    onTimeout: (step, waited, at) => log(at, 'caller', 'timeout', `… step ${step}: no prompt within ${waited.toFixed(0)} s, going on`, { step }),
  });

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  const finish = (why?: string): void => {
    if (state === 'done') return;
    state = 'done';
    if (why && !failure) failure = why;
    untick();
    io.signal?.removeEventListener('abort', onAbort);
    closeSocket(ws, resolveDone);
  };

  const close = (reason: 'end' | 'error' | 'disconnect'): void => {
    if (state !== 'open' && state !== 'opening') return;
    tracker.end(performance.now());
    state = 'closing';
    checker.closeSent(send('close', { reason }));
    deadline = performance.now() + timers.closeMs;
  };

  /** The entities of an event the checker passed: what a voice bot tells Genesys. */
  const onEntities = (now: number): void => {
    const entities = current?.parameters.entities;
    if (!Array.isArray(entities)) return;
    for (const entity of entities as Array<{ type: string; data?: unknown }>) {
      const data = (typeof entity.data === 'object' && entity.data !== null ? entity.data : {}) as Record<string, unknown>;
      if (entity.type === 'barge_in') {
        bargeIns += 1;
        const dropped = tracker.flush(now);
        log(now, 'event', 'barge_in', `barge_in${dropped > 0 ? ` (dropped ${(dropped / 1000).toFixed(1)} s of queued audio)` : ''}`);
      } else if (entity.type === 'bot_turn_response') {
        const { disposition, text, confidence } = data;
        const bad =
          typeof disposition !== 'string'
            ? 'disposition is not a string'
            : text !== undefined && typeof text !== 'string'
              ? 'text is not a string'
              : confidence !== undefined && (typeof confidence !== 'number' || confidence < 0 || confidence > 1)
                ? 'confidence is not a number in [0, 1]'
                : undefined;
        if (bad) eventFindings.push(`bot_turn_response: ${bad}`);
        botTurnResponses.push({ t: Math.round(now - t0) / 1000, ...data });
        const conf = typeof confidence === 'number' ? ` ${confidence.toFixed(2)}` : '';
        const said = typeof text === 'string' && text !== '' ? ` ${JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text)}` : '';
        log(now, 'event', 'bot_turn_response', `bot_turn_response ${String(disposition)}${conf}${said}`, data);
      } else {
        log(now, 'event', entity.type, entity.type, data);
      }
    }
  };

  const checker = createServerChecker({
    sessionId,
    offers: AUDIO_CONNECTOR_OFFERS,
    askedForLanguages: false,
    violations: protocolErrors,
    state: () => state,
    channels: () => media?.channels ?? [],
    lastClientSeq: () => seq,
    onViolation: (text, code) => {
      log(performance.now(), 'check', 'violation', `✗ protocol violation: ${text}`);
      if (state === 'open' || state === 'opening') {
        send('error', { code, message: text.slice(0, 200) });
        close('error');
      }
    },
    onOpened: (opened, now) => {
      state = 'open';
      openLatencyMs = now - t0;
      media = opened.media;
      log(now, 'server', 'opened', `opened in ${Math.round(openLatencyMs)} ms`);
      nextPingAt = now + timers.firstPingMs;
      caller.start(now);
      steps.start(now);
      if (opened.startPaused) caller.serverPause();
    },
    onPong: () => undefined,
    onEvent: (_event, now) => onEntities(now),
    onPause: () => {
      if (state === 'open') caller.serverPause();
    },
    onResume: () => {
      if (state === 'open') caller.serverResume();
    },
    onDisconnect: (reason, info) => {
      const now = performance.now();
      const outputVariables = current?.parameters.outputVariables;
      disconnect = { reason, ...(info === undefined ? {} : { info }) };
      if (typeof outputVariables === 'object' && outputVariables !== null) disconnect.outputVariables = outputVariables as Record<string, string>;
      unplayedAtDisconnectMs = tracker.unplayedMs(now);
      const vars = disconnect.outputVariables ? ` ${JSON.stringify(disconnect.outputVariables)}` : '';
      log(now, 'server', 'disconnect', `disconnect ${reason}${info ? ` (${info})` : ''}${vars}`, { ...disconnect });
      close('disconnect');
    },
    onClosed: () => {
      closed = true;
      log(performance.now(), 'server', 'closed', 'closed');
      finish();
    },
  });

  const onTick = (now: number): void => {
    if (state === 'opening' && now > deadline) {
      checker.record(`no opened within ${timers.openMs / 1000} s`);
      return finish('open timed out (408)');
    }
    if (state === 'closing' && now > deadline) {
      checker.record(`no closed within ${timers.closeMs / 1000} s`);
      return finish('close timed out (408)');
    }
    if (state !== 'open') return;
    tracker.tick(now);
    if (now >= nextPingAt) {
      const waiting = checker.pendingPing;
      if (waiting) return checker.violation(`no pong for ping seq ${waiting.seq} within ${timers.pingIntervalMs / 1000} s`, 408);
      checker.pingSent(send('ping', {}), now);
      nextPingAt = now + timers.pingIntervalMs;
    }
    caller.tick(now);
    steps.tick(now);
    if (state === 'open' && now - t0 >= options.maxSeconds * 1000) {
      log(now, 'caller', 'max_seconds', `✆ hang up: --max-seconds ${options.maxSeconds} reached`);
      close('end');
    }
  };
  const untick = (options.ticker ?? defaultTicker).add(onTick);

  const onAbort = (): void => {
    if (state === 'open') close('end');
    else if (state === 'opening') finish('aborted');
  };
  io.signal?.addEventListener('abort', onAbort);

  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (state === 'done') return;
    const now = performance.now();
    if (isBinary) {
      // Genesys stops playing at disconnect; such audio is never heard.
      if (disconnect) audioAfterDisconnect += 1;
      else if (state === 'open') {
        tracker.frame(data, now);
        frameArrivals.push(Math.round(now - t0) / 1000);
      }
      else if (state === 'opening') checker.violation('binary audio before opened', 409);
      return;
    }
    // The checker judges the message; the hooks it calls read what they need from `current`.
    const parsed = parseServerMessage(data.toString('utf8'));
    current = parsed.ok ? parsed.message : undefined;
    checker.receive(data, false, now);
    current = undefined;
  });
  ws.on('close', (code) => {
    if (state !== 'done') finish(`connection closed by the server before closed (WebSocket code ${code})`);
    else resolveDone();
  });
  ws.on('error', (err) => {
    if (state !== 'done') finish(`connection error: ${err.message}`);
  });

  deadline = t0 + timers.openMs;
  send('open', {
    organizationId: options.organizationId,
    conversationId,
    participant: { id: randomUUID(), ani: options.ani, aniName: '', dnis: options.dnis },
    media: AUDIO_CONNECTOR_OFFERS,
    ...(options.language ? { language: options.language } : {}),
    inputVariables: options.inputVariables,
  });
  await done;

  return buildResult({
    ...base,
    ...(failure === undefined ? {} : { failure }),
    elapsedMs: performance.now() - started,
    protocolErrors,
    closed,
    ...(openLatencyMs === undefined ? {} : { openLatencyMs }),
    events,
    tracker,
    findings: frameChecker.findings(),
    eventFindings,
    audioAfterDisconnect,
    ...(unplayedAtDisconnectMs === undefined ? {} : { unplayedAtDisconnectMs }),
    bargeIns,
    botTurnResponses,
    ...(disconnect ? { disconnect } : {}),
    played: steps.played,
    playback,
    dtmfSent,
    callerSeconds: caller.framesSent * 0.2,
    frameArrivals,
    t0,
  });
}
