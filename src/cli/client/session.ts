/**
 * One AudioHook session driven the way the Genesys client drives it: signed upgrade, `open` with
 * stereo PCMU first, 200 ms frames paced on the stream clock, ping ~1 s after `opened` then every
 * 5 s, pause/resume handling, scripted client events, `close` at the end and a wait for `closed`.
 * Every server message is checked; any violation is recorded and ends the session the way the
 * client would (`error` then `close {reason:"error"}`).
 *
 * Never rejects: the outcome, good or bad, is in the returned summary.
 */
import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';
import { NULL_UUID } from '../../protocol/auth.js';
import { formatDuration } from '../../protocol/duration.js';
import { MAX_TEXT_MESSAGE_LENGTH, parseServerMessage, serializeClientMessage, type ClientMessageType, type MediaOffer, type ServerMessage } from '../../protocol/messages.js';
import { FRAME_SECONDS, type AudioSource } from './audio-source.js';
import { connect } from './connect.js';
import { compileScript, EMPTY_SCRIPT, type CallScript, type ScriptAction } from './script.js';
import { defaultTicker, type Ticker } from './ticker.js';
import { checkEvent, checkOpened, type Transcript } from './validate.js';
import { createLatencyProbe } from './latency.js';
import { emptySummary, type SessionSummary } from './summary.js';
import { GENESYS_OFFERS, GENESYS_TIMERS, RATE_BURST, RATE_PER_SECOND, type SessionTimers } from './genesys.js';

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
}

type State = 'connecting' | 'opening' | 'open' | 'closing' | 'done';

export async function runSession(opts: SessionOptions): Promise<SessionSummary> {
  const sessionId = opts.sessionId ?? randomUUID();
  const probe = opts.probe ?? false;
  const conversationId = probe ? NULL_UUID : (opts.conversationId ?? randomUUID());
  const timers = { ...GENESYS_TIMERS, ...opts.timers };
  const summary = emptySummary(sessionId, conversationId, probe);
  const notice = (text: string): void => opts.onNotice?.(text, sessionId);
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
  const ws: WebSocket = conn.ws;
  if (opts.signal?.aborted) {
    ws.terminate();
    return { ...summary, failure: 'aborted', elapsedMs: performance.now() - started };
  }
  const source = opts.source;
  const offers = opts.offers ?? GENESYS_OFFERS;
  const speed = opts.speed ?? 1;
  const frameMs = (FRAME_SECONDS * 1000) / speed;
  const fileFrames = source?.frameCount ?? 0;
  const totalFrames =
    opts.durationSeconds === undefined
      ? fileFrames
      : Math.min(opts.loop ? Infinity : fileFrames, Math.round(opts.durationSeconds / FRAME_SECONDS));
  const plan = compileScript(opts.script ?? EMPTY_SCRIPT, FRAME_SECONDS);
  const latency = opts.latency && !probe ? createLatencyProbe(opts.latency.endpointMs) : undefined;

  let state: State = 'opening';
  let seq = 0;
  let lastServerSeq = 0;
  let lastClientSeqAcked = 0;
  let closeSeq = 0;
  let disconnected = false;
  let frames: readonly Buffer[] = [];
  let streamStart = 0;
  let nextFrame = 0;
  let framesSent = 0;
  let serverPaused = false;
  let scriptPaused = false;
  let discarding = 0;
  let pauseStart = 0;
  let openSentAt = 0;
  let deadline = 0; // open / close transaction deadline
  let nextPingAt = Infinity;
  let pendingPing: { seq: number; at: number } | undefined;
  let tokens = RATE_BURST;
  let tokensAt = performance.now();

  const position = (): number => Math.min(nextFrame, totalFrames) * FRAME_SECONDS;
  const paused = (): boolean => serverPaused || scriptPaused;

  const send = (type: ClientMessageType, parameters: object): number => {
    seq += 1;
    if (ws.readyState === ws.OPEN) {
      ws.send(serializeClientMessage({ id: sessionId, type, seq, serverseq: lastServerSeq, position: position(), parameters }));
    }
    return seq;
  };

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const finish = (failure?: string): void => {
    if (state === 'done') return;
    state = 'done';
    if (failure && !summary.failure) summary.failure = failure;
    untick();
    opts.signal?.removeEventListener('abort', onAbort);
    if (ws.readyState === ws.OPEN) ws.close(1000);
    // Do not wait forever for the close handshake of a misbehaving peer.
    const t = setTimeout(() => ws.terminate(), 1_000);
    ws.once('close', () => {
      clearTimeout(t);
      resolveDone();
    });
    if (ws.readyState === ws.CLOSED) {
      clearTimeout(t);
      resolveDone();
    }
  };

  const close = (reason: 'end' | 'error' | 'disconnect'): void => {
    if (state !== 'open' && state !== 'opening') return;
    state = 'closing';
    closeSeq = send('close', { reason });
    deadline = performance.now() + timers.closeMs;
  };

  /** A server protocol violation: the client reports it and ends the session (§10). */
  const violation = (text: string, code = 500): void => {
    summary.protocolErrors.push(text);
    notice(`protocol violation: ${text}`);
    if (state === 'open' || state === 'opening') {
      send('error', { code, message: text.slice(0, 200) });
      close('error');
    }
  };

  const setPaused = (update: () => void): void => {
    const was = paused();
    update();
    if (was && !paused()) {
      const pos = position();
      send('resumed', { start: formatDuration(pauseStart), discarded: formatDuration(pos - pauseStart) });
    } else if (!was && paused()) {
      pauseStart = position();
    }
  };

  const runAction = (a: ScriptAction): void => {
    switch (a.type) {
      case 'pause':
        setPaused(() => (scriptPaused = true));
        send('paused', {});
        notice(`client paused at ${position().toFixed(1)} s`);
        break;
      case 'resume':
        setPaused(() => (scriptPaused = false));
        notice(`client resumed at ${position().toFixed(1)} s`);
        break;
      case 'discard-begin':
        discarding += 1;
        break;
      case 'discard-end':
        discarding -= 1;
        send('discarded', { start: formatDuration(a.start), discarded: formatDuration(a.duration) });
        notice(`client discarded ${a.duration.toFixed(1)} s at ${a.start.toFixed(1)} s`);
        break;
      case 'update':
        send('update', { language: a.language });
        notice(`client switched language to ${a.language}`);
        break;
    }
  };

  const stream = (now: number): void => {
    while (state === 'open' && nextFrame < totalFrames && now >= streamStart + nextFrame * frameMs) {
      for (const a of plan.get(nextFrame) ?? []) runAction(a);
      if (!paused() && discarding === 0 && frames.length > 0) {
        ws.send(frames[nextFrame % fileFrames] as Buffer);
        framesSent += 1;
        latency?.frameSent(nextFrame, performance.now());
      }
      nextFrame += 1;
    }
    if (state === 'open' && nextFrame >= totalFrames && now >= streamStart + totalFrames * frameMs) {
      // Actions scheduled at the very end (a discard running to the end of the file) go out before close.
      for (const a of plan.get(totalFrames) ?? []) runAction(a);
      if (state === 'open') close('end');
    }
  };

  const onTick = (now: number): void => {
    if (state === 'opening' && now > deadline) {
      summary.protocolErrors.push(`no opened within ${timers.openMs / 1000} s`);
      return finish(`open timed out (408)`);
    }
    if (state === 'closing' && now > deadline) {
      summary.protocolErrors.push(`no closed within ${timers.closeMs / 1000} s`);
      return finish(`close timed out (408)`);
    }
    if (state === 'open' && now >= nextPingAt) {
      if (pendingPing) {
        violation(`no pong for ping seq ${pendingPing.seq} within ${timers.pingIntervalMs / 1000} s`, 408);
        return;
      }
      const rtt = summary.lastRttMs;
      pendingPing = { at: now, seq: send('ping', rtt === undefined ? {} : { rtt: formatDuration(rtt / 1000) }) };
      summary.pings += 1;
      nextPingAt = now + timers.pingIntervalMs;
    }
    if (state === 'open' && !probe) stream(now);
  };
  const untick = (opts.ticker ?? defaultTicker).add(onTick);

  const onAbort = (): void => {
    if (state === 'open') close('end');
    else if (state === 'opening') finish('aborted');
  };
  opts.signal?.addEventListener('abort', onAbort);

  const checkRate = (now: number): void => {
    tokens = Math.min(RATE_BURST, tokens + ((now - tokensAt) / 1000) * RATE_PER_SECOND);
    tokensAt = now;
    if (tokens >= 1) tokens -= 1;
    else summary.rateLimitExceeded += 1;
  };

  const handle = (m: ServerMessage, now: number): void => {
    const p = m.parameters;
    if (disconnected && m.type !== 'closed') return violation(`${m.type} after disconnect`, 409);
    switch (m.type) {
      case 'opened': {
        if (state !== 'opening') return violation('opened when not opening', 409);
        if (m.clientseq !== 1) return violation(`opened.clientseq ${m.clientseq}, expected 1`, 400);
        const r = checkOpened(p, offers, opts.supportedLanguages === true || probe);
        if (!r.ok) return violation(r.error, 400);
        state = 'open';
        summary.openLatencyMs = now - openSentAt;
        summary.media = r.value.media;
        if (r.value.supportedLanguages) summary.supportedLanguages = r.value.supportedLanguages;
        opts.onOpened?.(sessionId);
        if (probe) return close('end');
        nextPingAt = now + timers.firstPingMs;
        streamStart = now;
        if (r.value.media && source) frames = source.framesFor(r.value.media);
        if (r.value.discardTo !== undefined) nextFrame = Math.round(r.value.discardTo / FRAME_SECONDS);
        if (r.value.startPaused) {
          setPaused(() => (serverPaused = true));
          send('paused', {});
          notice('server asked to start paused');
        }
        return;
      }
      case 'pong':
        if (!pendingPing || m.clientseq !== pendingPing.seq) {
          return violation(`pong.clientseq ${m.clientseq} does not answer ping seq ${pendingPing?.seq ?? 'none'}`, 400);
        }
        summary.lastRttMs = now - pendingPing.at;
        summary.maxRttMs = Math.max(summary.maxRttMs, summary.lastRttMs);
        summary.pongs += 1;
        pendingPing = undefined;
        return;
      case 'event': {
        if (state !== 'open' && state !== 'closing') return violation('event outside the open session', 409);
        const r = checkEvent(p, summary.media?.channels ?? []);
        if (!r.ok) return violation(r.error, 400);
        summary.events += 1;
        summary.otherEntities += r.value.otherEntities;
        checkRate(now);
        for (const t of r.value.transcripts) {
          if (t.isFinal) {
            summary.finals += 1;
            latency?.final(t.offset + t.duration, now);
          } else summary.interims += 1;
          opts.onTranscript?.(t, sessionId);
        }
        return;
      }
      case 'pause':
        if (state !== 'open') return; // racing our close: nothing left to pause
        summary.serverPauses += 1;
        setPaused(() => (serverPaused = true));
        send('paused', {});
        notice(`server paused the stream at ${position().toFixed(1)} s`);
        return;
      case 'resume':
        if (state !== 'open') return;
        setPaused(() => (serverPaused = false));
        notice(`server resumed the stream at ${position().toFixed(1)} s`);
        return;
      case 'disconnect': {
        const reason = p.reason;
        if (reason !== 'completed' && reason !== 'unauthorized' && reason !== 'error') {
          violation(`disconnect.reason ${JSON.stringify(reason)} is not completed|unauthorized|error`, 400);
        }
        const info = typeof p.info === 'string' ? p.info : undefined;
        summary.disconnect = { reason: String(reason), ...(info === undefined ? {} : { info }) };
        notice(`server disconnected: ${String(reason)}${info ? ` (${info})` : ''}`);
        disconnected = true;
        close('disconnect');
        return;
      }
      case 'closed':
        if (state !== 'closing') return violation('closed without a close', 409);
        if (m.clientseq !== closeSeq) violation(`closed.clientseq ${m.clientseq}, expected ${closeSeq}`, 400);
        summary.closed = true;
        return finish();
      case 'updated':
      case 'reconnect':
        return; // defined in the schema; Genesys does not act on them
    }
  };

  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (state === 'done') return;
    const now = performance.now();
    if (isBinary) return violation('binary frame from a transcription server', 415);
    const text = data.toString('utf8');
    if (text.length > MAX_TEXT_MESSAGE_LENGTH) return violation(`text message of ${text.length} characters (max ${MAX_TEXT_MESSAGE_LENGTH})`, 413);
    const parsed = parseServerMessage(text);
    if (!parsed.ok) return violation(`malformed server message: ${parsed.error}`, 400);
    const m = parsed.message;
    if (m.id !== sessionId) return violation(`message id ${m.id} is not the session id`, 400);
    if (m.seq !== lastServerSeq + 1) violation(`server seq gap: expected ${lastServerSeq + 1}, got ${m.seq} (${m.type})`);
    // Resynchronise after a gap so one skip is reported once, not on every later message.
    lastServerSeq = m.seq;
    if (m.clientseq > seq) violation(`clientseq ${m.clientseq} is ahead of the last client seq ${seq}`, 400);
    else if (m.clientseq < lastClientSeqAcked) violation(`clientseq went back from ${lastClientSeqAcked} to ${m.clientseq}`, 400);
    lastClientSeqAcked = Math.max(lastClientSeqAcked, m.clientseq);
    if (state === 'opening' && m.type !== 'opened' && m.type !== 'disconnect') {
      return violation(`${m.type} before opened`, 409);
    }
    handle(m, now);
  });
  ws.on('close', (code) => {
    if (state !== 'done') finish(`connection closed by the server before closed (WebSocket code ${code})`);
    else resolveDone();
  });
  ws.on('error', (err) => {
    if (state !== 'done') finish(`connection error: ${err.message}`);
  });

  const participant = probe
    ? { id: NULL_UUID, ani: '', aniName: '', dnis: '' }
    : { id: randomUUID(), ani: '+13175550100', aniName: 'Simulated Caller', dnis: '+13175550199' };
  const openParams: Record<string, unknown> = {
    organizationId: opts.organizationId,
    conversationId,
    participant,
    media: offers,
  };
  if (opts.language) openParams.language = opts.language;
  if (opts.supportedLanguages || probe) openParams.supportedLanguages = true;
  if (opts.customConfig && Object.keys(opts.customConfig).length > 0) openParams.customConfig = opts.customConfig;
  openSentAt = performance.now();
  deadline = openSentAt + timers.openMs;
  send('open', openParams);

  await done;
  summary.streamedSeconds = framesSent * FRAME_SECONDS;
  summary.positionSeconds = position();
  summary.elapsedMs = performance.now() - started;
  if (latency) summary.finalLatency = { samplesMs: [...latency.samples], unmatched: latency.unmatched };
  return summary;
}
