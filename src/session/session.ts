/**
 * One AudioHook session: the protocol state machine of §3, independent of any transport.
 *
 * The server feeds it text and binary frames and tells it when the socket went away; it answers
 * through `transport.send`. Control replies (opened, pong, closed, disconnect) go out at once;
 * transcript events pass the per-session rate limiter.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { checkFrame } from '../audio/frames.js';
import type { EngineRegistry } from '../engines/registry.js';
import {
  MAX_TEXT_MESSAGE_LENGTH,
  parseClientMessage,
  serializeServerMessage,
  type ClientMessage,
  type OpenParameters,
  type ServerMessageType,
} from '../protocol/messages.js';
import type { TranscriptEntity } from '../transcript/types.js';
import { CallAudio } from './call-audio.js';
import { isProbe, negotiateOpen } from './open.js';
import { noMetrics, type SessionMetrics } from './metrics.js';
import { outcomeOf, RULES, VOICE_BOT_RULES, violationInfo, type SessionState, type StateRules } from './lifecycle.js';
import { OutboundQueue } from './outbound-queue.js';
import { StreamTimeline } from './timeline.js';
import { EngineError, engineSupportsLanguage, type SpeechEngine } from '../engines/types.js';
import type { TranslationService } from '../translation/service.js';
import type { TranscriptOut } from '../translation/session.js';
import { isProblem, parseLanguage } from './custom-config.js';
import { RecognitionLanguage } from './recognition-language.js';
import type { VoiceBotConversation } from '../voicebot/conversation.js';
import { startConversation, type BotPlan, type VoiceBotService } from '../voicebot/service.js';

export interface SessionSettings {
  /** SUPPORTED_LANGUAGES when set. */
  supportedLanguages: readonly string[] | undefined;
  defaultLanguage: string;
  interimResults: boolean;
  tokenLanguage: 'full' | 'primary';
  sendUpdated: boolean;
  idleTimeoutMs: number;
  /** An upgraded socket that sends no `open` within this long is disconnected (frees capacity). */
  openTimeoutMs: number;
  closeFlushTimeoutMs: number;
  /** LOG_TRANSCRIPTS: each transcript's text at debug level (never at info), for debugging. */
  logTranscripts?: boolean;
  /** FALLBACK_SPEECH_PROVIDER, resolved: where calls go on when their engine cannot recover. */
  fallbackEngine?: SpeechEngine | undefined;
  /** ENGINE_STALL_SECONDS: an engine stream given audio that answers nothing this long is restarted. */
  engineStallMs?: number;
  rateLimit: { perSecond: number; burst: number; maxQueued: number; defaultRetryAfterMs: number };
}

export interface SessionTransport {
  send(text: string): void;
  /** A binary frame (voice-bot sessions: the bot's audio). */
  sendBinary?(frame: Uint8Array): void;
  /** Ends the connection (after `closed`, or when the client never answers a disconnect). */
  end(): void;
}

export interface SessionInit {
  id: string;
  organizationId: string;
  settings: SessionSettings;
  engines: EngineRegistry;
  transport: SessionTransport;
  log: Logger;
  metrics?: SessionMetrics;
  /** Translation, when the server is configured for it; else why not (for the `disconnect` of a session that asks). */
  translation?: { service: TranslationService; contextUtterances: number } | { unavailable: string };
  /** Called once when the session has released everything. */
  onEnd?(reason: string): void;
  /** A voice-bot session (Audio Connector): the connector id from its path, and the bots. */
  voiceBot?: { connectorId: string; service: VoiceBotService };
}

/** How long a client gets to answer `disconnect` with `close`, and to drop the socket after `closed`. */
export const CLIENT_GRACE_MS = 10_000;
const POSITION_DRIFT_WARN_SECONDS = 1;

export class AudioHookSession {
  private state: SessionState = 'awaiting-open';
  /** The lifecycle of this kind of session: transcription, or voice bot. */
  private readonly table: Readonly<Record<SessionState, StateRules>>;
  /** The rules' audio entry for the state, kept at hand: it is read for every audio frame. */
  private audioRule: StateRules['audio'] = RULES['awaiting-open'].audio;
  /** A voice-bot session's conversation (from `open`). */
  private bot: VoiceBotConversation | undefined;
  /** Called when the session leaves its current state (see whileIn). */
  private leaving: (() => void) | undefined;
  /** How to release what was acquired (timers, queue, engine streams, translation), by what acquired it; run at the end. */
  private readonly releases: Array<() => void> = [];
  private lastClientSeq = 0;
  private serverSeq = 0;
  private readonly queue: OutboundQueue;
  private readonly timeline = new StreamTimeline();
  /** The engine streams and translation of a call with audio (from `open`; none for probes). */
  private call: CallAudio | undefined;
  private probe = false;
  /** The session language, what recognition runs in, and whether the engine serves it (set at open). */
  private languages: RecognitionLanguage | undefined;
  private openedAt = performance.now();
  private lastActivity = Date.now();
  private idleTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private openTimer: NodeJS.Timeout | undefined;
  /** Arrival time of the audio frame being processed: results produced synchronously inside it are timed from it. */
  private frameArrivedAt: number | undefined;
  private readonly producedAt = new WeakMap<object, number>();
  private framesDropped = 0;
  private maxPositionDrift = 0;
  private driftWarned = false;
  private endReason = 'unknown';
  /** The client's `close` arrived: it waits for `closed`. */
  private clientClosed = false;
  /** The engine the session was opened with (undefined until a successful `open`), or its fallback after a failover. */
  private engineName: string | undefined;
  private failedOverTo: string | undefined;
  private readonly metrics: SessionMetrics;
  private log: Logger;

  constructor(private readonly init: SessionInit) {
    this.log = init.log;
    this.metrics = init.metrics ?? noMetrics;
    this.table = init.voiceBot ? VOICE_BOT_RULES : RULES;
    const rl = init.settings.rateLimit;
    this.queue = new OutboundQueue({
      ratePerSecond: rl.perSecond,
      burst: rl.burst,
      maxQueued: rl.maxQueued,
      defaultRetryAfterMs: rl.defaultRetryAfterMs,
      send: (type, parameters) => this.write(type as ServerMessageType, parameters),
      onCoalesced: () => this.metrics.eventsCoalesced(1),
      onOverflow: (queued) => {
        this.log.error({ queued }, 'outbound event queue overflow');
        this.disconnect('error', 'outbound event backlog too large');
      },
    });
    this.own(() => this.queue.dispose());
    this.armIdleTimer();
    this.own(() => clearTimeout(this.idleTimer));
    this.openTimer = setTimeout(() => {
      this.log.warn({ openTimeoutMs: init.settings.openTimeoutMs }, 'no open received');
      this.disconnect('error', 'no open received');
    }, init.settings.openTimeoutMs);
    this.own(() => clearTimeout(this.openTimer));
  }

  /** The rules of the current state (lifecycle.ts). */
  private get rules() {
    return this.table[this.state];
  }

  /** The one place the state changes, along the table's edges only. */
  private enter(next: SessionState): void {
    if (!(this.table[this.state].next as readonly SessionState[]).includes(next)) throw new Error(`session state ${this.state} cannot go to ${next}`);
    this.state = next;
    this.audioRule = this.table[next].audio;
    const leaving = this.leaving;
    this.leaving = undefined;
    leaving?.();
  }

  /** `p`'s value, or undefined as soon as the session leaves `state` (a dropped socket, a disconnect). */
  private whileIn<T>(state: SessionState, p: Promise<T>): Promise<T | undefined> {
    if (this.state !== state) return Promise.resolve(undefined);
    const left = new Promise<undefined>((resolve) => {
      const before = this.leaving;
      this.leaving = () => {
        before?.();
        resolve(undefined);
      };
    });
    return Promise.race([p, left]).then((value) => (this.state === state ? value : undefined));
  }

  private own(release: () => void): void {
    this.releases.push(release);
  }

  get id(): string {
    return this.init.id;
  }

  /** The engine the session was opened with; undefined before `open`. */
  get engine(): string | undefined {
    return this.engineName;
  }

  get isEnded(): boolean {
    return this.state === 'ended';
  }

  get queuedEvents(): number {
    return this.queue.queued;
  }

  // ---- input ------------------------------------------------------------------------------

  handleText(text: string): void {
    this.guard(() => this.onText(text));
  }

  handleBinary(frame: Uint8Array): void {
    this.guard(() => this.onBinary(frame));
  }

  /** A bug or an engine throwing must end this session with a clear answer, never the process. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err, state: this.state }, 'internal error handling client input');
      if (this.rules.disconnect) this.disconnect('error', 'internal server error');
      else this.finish('internal error', true);
    }
  }

  private onText(text: string): void {
    if (this.state === 'ended') return;
    this.lastActivity = Date.now();
    if (text.length > MAX_TEXT_MESSAGE_LENGTH) return this.protocolError('message too large', 'size');
    const parsed = parseClientMessage(text);
    if (!parsed.ok) return this.protocolError(parsed.error, 'parse');
    const msg = parsed.message;
    const rules = this.rules;
    if (rules.checksEnvelope) {
      if (msg.id !== this.init.id) return this.protocolError('session id mismatch', 'id');
      if (msg.seq !== this.lastClientSeq + 1) {
        return this.protocolError(`seq ${msg.seq} out of order (expected ${this.lastClientSeq + 1})`, 'seq');
      }
      this.lastClientSeq = msg.seq;
      if (msg.serverseq > this.serverSeq) return this.protocolError(`serverseq ${msg.serverseq} ahead of server`, 'serverseq');
    } else if (rules.messages[msg.type] === 'handle') {
      // After a disconnect only the client's close matters; `closed` answers its seq, whatever it is.
      this.lastClientSeq = msg.seq;
    }
    const rule = rules.messages[msg.type];
    if (rule === 'violation') return this.protocolError(violationInfo(this.state, msg.type), 'state');
    if (rule === 'ignore') return this.log.debug({ type: msg.type, state: this.state }, 'ignored client message');
    this.dispatch(msg);
    // While paused the client's position runs on over a gap it declares only at `resumed`.
    if (rules.checksEnvelope && msg.position !== undefined && msg.type !== 'open' && this.state !== 'paused') {
      this.crossCheckPosition(msg.position);
    }
  }

  /**
   * §6: the client's `position` should equal our timeline (audio received + declared gaps). A
   * drift means offsets no longer line up with the recording: worth one warning per session.
   */
  private crossCheckPosition(clientPosition: number): void {
    const drift = clientPosition - this.timeline.position;
    if (Math.abs(drift) > Math.abs(this.maxPositionDrift)) this.maxPositionDrift = drift;
    if (Math.abs(drift) > POSITION_DRIFT_WARN_SECONDS && !this.driftWarned) {
      this.driftWarned = true;
      this.log.warn({ clientPosition, serverPosition: this.timeline.position }, 'client position differs from the stream timeline');
    }
  }

  private onBinary(frame: Uint8Array): void {
    const audio = this.audioRule;
    const call = this.call;
    if (audio === 'route' && call) {
      this.lastActivity = Date.now();
      const problem = checkFrame(frame.byteLength, call.format, call.channelCount);
      if (problem) return this.protocolError(problem, 'frame');
      if (this.languages?.isHeld || call.pipelines.length === 0) {
        // Waiting for a language the engine serves (a `pause` is on its way): the audio still occupies stream time.
        this.timeline.advance(call.samplesIn(frame));
        this.framesDropped += 1;
        return;
      }
      this.frameArrivedAt = performance.now();
      const n = call.route(frame);
      this.timeline.advance(n);
      this.frameArrivedAt = undefined;
      this.bot?.callerAudio(frame, call.format, call.channelCount, Date.now());
      return;
    }
    if (audio === 'violation') return this.protocolError('audio before open', 'audio-state');
    if (audio === 'route' && !this.probe) return this.protocolError('audio but no media was selected', 'audio-state');
    // Paused (audio may race the `paused` message), a probe, closing, disconnecting: drop quietly.
    this.framesDropped += 1;
  }

  /** The socket went away, with or without `close`: release everything. */
  handleTransportClosed(): void {
    if (this.state === 'ended') return;
    // Genesys hung up without a close: the bot is told like at a close.
    this.bot?.hangup('hangup');
    const reason = this.state === 'closing' ? 'socket closed while closing' : 'socket dropped';
    this.log.warn({ state: this.state }, reason);
    this.finish(reason);
  }

  /**
   * Server shutdown: recognition stops, what the engines still hold is finalized and sent, then
   * the client is asked to end the session (`disconnect`, reason completed). Nothing already
   * spoken is lost.
   */
  requestDisconnect(info: string): void {
    const onShutdown = this.rules.onShutdown;
    if (onShutdown === 'flush') void this.endCall({ shutdown: info });
    else if (onShutdown === 'disconnect') this.disconnect('completed', info);
  }

  // ---- messages ---------------------------------------------------------------------------

  /** A message the current state handles (see RULES): to its handler. */
  private dispatch(msg: ClientMessage): void {
    switch (msg.type) {
      case 'open':
        return this.handleOpen(msg);
      case 'ping':
        return this.sendControl('pong', {});
      case 'close':
        return this.handleClose(msg.parameters.reason);
      case 'paused':
        return this.handlePaused();
      case 'resumed':
        this.timeline.addGap(msg.parameters.discarded);
        if (this.state === 'paused') this.enter('active');
        this.bot?.resume();
        this.log.info({ discarded: msg.parameters.discarded, position: this.timeline.position }, 'session resumed');
        this.languages?.clientResumed();
        return;
      case 'discarded':
        this.timeline.addGap(msg.parameters.discarded);
        this.log.debug({ discarded: msg.parameters.discarded }, 'client discarded audio');
        return;
      case 'update':
        return this.handleUpdate(msg.parameters.language);
      case 'error':
        return this.handleClientError(msg.parameters);
      // Audio Connector messages: only a voice-bot session's table lets them through.
      case 'dtmf':
        return this.bot?.digit(msg.parameters.digit);
      case 'playback_started':
        return this.bot?.playbackStarted();
      case 'playback_completed':
        return this.bot?.playbackCompleted();
    }
  }

  private handleClose(reason: string): void {
    const onClose = this.rules.onClose;
    if (onClose === 'answer') return this.answerClose(this.state === 'awaiting-open' ? 'close before open' : this.endReason);
    if (this.clientClosed) return this.log.warn('duplicate close ignored');
    this.clientClosed = true;
    this.endReason = `close:${reason}`;
    this.log.info({ reason, position: this.timeline.position }, 'session closing');
    // 'join': a shutdown's flush is under way and answers the close when it ends.
    if (onClose === 'flush') void this.endCall({ clientClose: true });
  }

  /** The one place `closed` is sent: the answer to the client's `close`, after which the session ends. */
  private answerClose(reason: string): void {
    if (!this.rules.closed) throw new Error(`closed cannot be sent in state ${this.state}`);
    this.sendControl('closed', {});
    this.finish(reason);
  }

  private handleOpen(msg: Extract<ClientMessage, { type: 'open' }>): void {
    clearTimeout(this.openTimer);
    // Whatever engine streams and translation the session starts from here are let go at its end.
    this.own(() => this.call?.release());
    const p = msg.parameters;
    this.probe = isProbe(p);
    // Every later line of this session carries the call it belongs to.
    this.log = this.log.child({ conversationId: p.conversationId });
    const translation = this.init.translation;
    const available = translation && 'service' in translation;
    // A voice-bot session serves its connector's bot (whose language is the session default).
    const voiceBot = this.init.voiceBot;
    const botPlan = voiceBot && !this.probe ? voiceBot.service.plan(voiceBot.connectorId) : undefined;
    const decision = negotiateOpen(p, {
      organizationId: this.init.organizationId,
      engines: this.init.engines,
      supportedLanguages: this.init.settings.supportedLanguages,
      defaultLanguage: (botPlan?.ok && botPlan.plan.endpoint.language) || this.init.settings.defaultLanguage,
      interimResults: this.init.settings.interimResults,
      fallbackEngine: this.init.settings.fallbackEngine,
      translation: available ? { configured: true } : { configured: false, reason: translation?.unavailable ?? 'GEMINI_API_KEY is not set' },
    });
    if (!decision.ok) {
      this.log.warn({ engine: p.customConfig['transcriptionVendor'] }, `open refused: ${decision.info}`);
      return this.disconnect(decision.reason, decision.info);
    }
    // Checked after the open itself (an unauthorized one is refused as such first).
    if (botPlan && !botPlan.ok) {
      this.log.warn({ connectorId: voiceBot?.connectorId }, `open refused: ${botPlan.info}`);
      return this.disconnect('error', botPlan.info);
    }
    const { media, engine } = decision;
    // A prompt the synthesizer cannot speak would only be noise: refused now, not at the first prompt.
    if (botPlan?.ok && !engineSupportsLanguage(botPlan.plan.synthesizer, decision.language)) {
      const info = `speech synthesis '${botPlan.plan.synthesizer.name}' does not speak ${decision.language}`;
      this.log.warn({ language: decision.language }, `open refused: ${info}`);
      return this.disconnect('error', info);
    }
    this.engineName = engine.name;
    // startPaused: the client starts paused; a `resume` follows the `update` that brings a language the engine serves.
    const startPaused = decision.opened['startPaused'] === true;
    const languages = new RecognitionLanguage(decision.language, decision.inputLanguage, startPaused, {
      engine,
      log: this.log,
      channels: () => this.call?.pipelines ?? [],
      // Probes have no call audio: no engine stream, no billing — whatever the language does.
      startChannels: (language) => this.call?.start(language),
      flush: (ch, why) => this.call?.flushChannel(ch, why),
      clientActive: () => this.state === 'active',
      send: (type) => {
        if (this.rules.pauseResume) this.sendControl(type, {});
      },
    });
    this.languages = languages;
    this.enter(startPaused ? 'paused' : 'active');
    this.sendControl('opened', decision.opened);
    this.metrics.sessionOpened({ probe: this.probe, engine: engine.name, openToOpenedMs: performance.now() - this.openedAt });
    this.log.info(
      {
        probe: this.probe,
        engine: engine.name,
        language: languages.language,
        ...(decision.translation ? { translation: true, recognitionLanguage: languages.recognized } : {}),
        media: media ? `${media.format}/${media.channels.join('+')}` : 'none',
      },
      this.probe ? 'probe opened' : 'session opened',
    );
    const configured = this.init.settings.supportedLanguages;
    if (!this.probe && configured && !configured.includes(languages.language)) {
      this.log.warn({ language: languages.language }, 'language not in SUPPORTED_LANGUAGES; serving it anyway');
    }
    // Probes start no speech session: no engine stream, no billing.
    if (this.probe || !media) return;
    const wantsTranslation = decision.translation && translation && 'service' in translation;
    this.call = new CallAudio({
      decision,
      media,
      tokenLanguage: this.init.settings.tokenLanguage,
      engineStallMs: this.init.settings.engineStallMs,
      timeline: this.timeline,
      log: this.log,
      metrics: this.metrics,
      translation: wantsTranslation
        ? { service: translation.service, contextUtterances: translation.contextUtterances, target: languages.language, source: () => languages.recognized }
        : undefined,
      emit: (entity, isFinal) => this.emitTranscript(entity, isFinal),
      enqueue: (out) => this.enqueueTranscript(out),
      onFatal: (error) => this.disconnect('error', engineFailureInfo(error)),
      onFailover: (from, to, error) => this.engineFailedOver(from, to, error),
    });
    languages.start();
    if (botPlan?.ok && voiceBot) this.startConversation(botPlan.plan, voiceBot, p, languages.language);
  }

  /** A voice-bot session, once `opened` is out: the bot's greeting, then the turns (voicebot/). */
  private startConversation(plan: BotPlan, voiceBot: NonNullable<SessionInit['voiceBot']>, open: OpenParameters, language: string): void {
    this.bot = startConversation(plan, voiceBot.service.options, { sessionId: this.init.id, connectorId: voiceBot.connectorId, open, language }, {
      sendAudio: (frame) => {
        if (this.rules.events) this.init.transport.sendBinary?.(frame);
      },
      sendEvent: (entity, urgent) => {
        if (!this.rules.events) return;
        const parameters = { entities: [entity] };
        if (urgent) this.queue.sendNow(parameters);
        else this.queue.enqueueEvent({ parameters, isFinal: true });
      },
      complete: (outputVariables) => this.disconnect('completed', undefined, outputVariables),
      fail: (info) => this.disconnect('error', info),
      log: this.log,
      metrics: this.metrics,
    });
    this.own(() => this.bot?.release());
  }

  /** Said once per session however many channels move (each moves on its own failure). */
  private engineFailedOver(from: string, to: string, error: Error): void {
    if (this.failedOverTo) return;
    this.failedOverTo = to;
    this.engineName = to;
    this.log.warn({ from, to, err: error }, 'speech engine failed; the call continues on the fallback engine');
    this.metrics.engineFailover(from, to);
  }

  private handlePaused(): void {
    // A duplicate `paused` is legal; during a close there is nothing left to pause.
    if (this.state !== 'active') return;
    this.enter('paused');
    this.log.info({ position: this.timeline.position }, 'session paused');
    this.bot?.pause();
    this.call?.flushAll('pause');
  }

  /** An utterance boundary; the new language is the target or the recognition language (see RecognitionLanguage). */
  private handleUpdate(value: string | undefined): void {
    const parsed = parseLanguage(value, 'update.language');
    if (isProblem(parsed)) {
      this.log.warn({ info: parsed.problem }, 'update refused');
      return this.disconnect('error', parsed.problem);
    }
    const languages = this.languages;
    if (!languages) return;
    const lang = parsed ?? languages.language;
    if (this.probe) {
      // A probe recognizes nothing: the language is noted, and nothing is started or paused for it.
      this.log.info({ from: languages.language, to: lang }, 'probe language updated');
      if (this.init.settings.sendUpdated) this.sendControl('updated', {});
      return;
    }
    this.log.info({ from: languages.language, to: lang }, 'language updated');
    this.call?.translation?.setTarget(lang, this.timeline.position);
    if (this.bot && !this.bot.speaks(lang)) {
      // As at `open`: prompts in a language the synthesizer cannot speak would only be noise.
      const info = `speech synthesis '${this.bot.synthesizerName}' does not speak ${lang}`;
      this.log.warn({ language: lang }, `update refused: ${info}`);
      return this.disconnect('error', info);
    }
    this.bot?.setLanguage(lang);
    languages.update(lang);
    if (this.init.settings.sendUpdated) this.sendControl('updated', {});
  }

  private handleClientError(p: { code: number; message: string; retryAfter?: number | undefined }): void {
    if (p.code === 429) {
      const ms = p.retryAfter !== undefined ? p.retryAfter * 1000 : this.init.settings.rateLimit.defaultRetryAfterMs;
      this.log.warn({ code: p.code, retryAfterMs: ms, queued: this.queue.queued }, 'client rate-limited us; holding events');
      this.metrics.clientRateLimited(this.queue.holdFor(ms));
      this.bot?.holdAudio(ms);
      return;
    }
    if (/event messages are not allowed/i.test(p.message)) {
      const dropped = this.queue.disableEvents();
      this.log.warn({ code: p.code, dropped }, 'client does not accept events; events stopped for this session');
      if (dropped > 0) this.metrics.eventsUndelivered(dropped, 'events not allowed');
      return;
    }
    this.log.warn({ code: p.code, message: p.message }, 'client reported an error');
  }

  /**
   * The end of the call's audio: the engines finalize what they hold, the queued events go out
   * (within CLOSE_FLUSH_TIMEOUT_MS), then `closed` answers the client's close — or, at a server
   * shutdown the client has not closed, `disconnect` asks it to.
   */
  private async endCall(by: { clientClose: true } | { shutdown: string }): Promise<void> {
    this.enter('closing');
    if ('shutdown' in by) this.log.info({ position: this.timeline.position }, 'session ending: server shutting down');
    this.bot?.hangup('shutdown' in by ? 'shutdown' : 'hangup');
    const deadline = performance.now() + this.init.settings.closeFlushTimeoutMs;
    const flushed = this.call ? this.call.finish() : Promise.resolve();
    const drained = this.withTimeout(flushed, this.init.settings.closeFlushTimeoutMs, 'engine flush at close').then(() =>
      this.queue.drain(Math.max(0, deadline - performance.now())),
    );
    // Dropped or disconnected meanwhile: that path has answered and ended the session.
    const result = await this.whileIn('closing', drained);
    if (!result) return;
    if (!this.clientClosed && 'shutdown' in by) return this.disconnect('completed', by.shutdown);
    if (result.undelivered > 0) {
      this.queue.disableEvents(); // nothing may follow `closed`
      this.log.error({ undelivered: result.undelivered }, 'close deadline reached with transcript events still queued');
      this.metrics.eventsUndelivered(result.undelivered, 'close deadline');
    }
    this.answerClose(this.endReason);
  }

  // ---- output -----------------------------------------------------------------------------

  private emitTranscript(entity: TranscriptEntity, isFinal: boolean): void {
    if (!this.rules.events) return;
    if (this.bot) {
      // A voice bot's caller: the words go to the bot, not to Genesys.
      const best = entity.data.alternatives[0];
      return this.bot.transcript(best?.interpretations[0]?.transcript ?? '', best?.confidence, isFinal);
    }
    const out = { entity, isFinal, producedAt: this.frameArrivedAt ?? performance.now() };
    if (this.call) this.call.submit(out);
    else this.enqueueTranscript(out);
  }

  private enqueueTranscript({ entity, isFinal, producedAt }: TranscriptOut): void {
    if (!this.rules.events) return;
    const parameters = { entities: [entity] };
    this.producedAt.set(parameters, producedAt);
    this.queue.enqueueEvent({ parameters, isFinal, coalesceKey: entity.data.id });
  }

  private sendControl(type: ServerMessageType, parameters: object): void {
    this.queue.sendControl(type, parameters);
  }

  /** The single place a message is written: seq and clientseq are assigned at the moment of sending. */
  private write(type: ServerMessageType, parameters: object): void {
    if (this.state === 'ended') return;
    this.serverSeq += 1;
    this.init.transport.send(
      serializeServerMessage({ id: this.init.id, type, seq: this.serverSeq, clientseq: this.lastClientSeq, parameters }),
    );
    if (type === 'event') {
      const t = this.producedAt.get(parameters);
      const entity = (parameters as { entities: TranscriptEntity[] }).entities[0];
      this.metrics.eventSent(t === undefined ? 0 : performance.now() - t, entity?.data.isFinal ?? true);
      if (this.init.settings.logTranscripts && entity) {
        this.log.debug({ channel: entity.data.channelId, isFinal: entity.data.isFinal, text: entity.data.alternatives[0]?.interpretations[0]?.transcript }, 'transcript sent');
      }
    }
  }

  private protocolError(info: string, kind: string): void {
    this.metrics.protocolError(kind);
    this.log.warn({ kind, info, state: this.state }, 'protocol violation');
    this.disconnect('error', info);
  }

  private disconnect(reason: 'completed' | 'unauthorized' | 'error', info: string | undefined, outputVariables?: Record<string, string>): void {
    if (!this.rules.disconnect) return;
    const wasOpen = this.state !== 'awaiting-open';
    this.enter('disconnecting');
    this.endReason = `disconnect:${reason}`;
    this.sendControl('disconnect', {
      reason,
      ...(info !== undefined ? { info: info.slice(0, 200) } : {}),
      ...(outputVariables ? { outputVariables } : {}),
    });
    this.log.info({ reason, info, wasOpen }, 'session disconnecting');
    if (reason === 'error') this.bot?.hangup('error');
    this.bot?.release();
    this.call?.release();
    const dropped = this.queue.disableEvents();
    if (dropped > 0) {
      this.log.warn({ dropped }, 'transcript events not delivered: session disconnected');
      this.metrics.eventsUndelivered(dropped, 'disconnect');
    }
    // The client's close is already here and waits for its answer: `closed` is the one message
    // allowed after `disconnect`.
    if (this.clientClosed) return this.answerClose(this.endReason);
    // The client answers with close; if it never does, stop waiting.
    this.graceTimer = setTimeout(() => this.finish(this.endReason, true), CLIENT_GRACE_MS);
    this.own(() => clearTimeout(this.graceTimer));
  }

  // ---- lifecycle --------------------------------------------------------------------------

  private armIdleTimer(): void {
    const idle = this.init.settings.idleTimeoutMs;
    const due = this.lastActivity + idle - Date.now();
    // Not unref'd: a session that is never ended shows as a live timer (/stats process.timers).
    this.idleTimer = setTimeout(() => {
      if (this.state === 'ended') return;
      if (Date.now() - this.lastActivity >= idle) {
        this.log.warn({ idleMs: idle, state: this.state }, 'idle timeout');
        if (this.rules.onIdle === 'end') return this.finish('idle timeout', true);
        this.disconnect('error', 'idle timeout');
        return;
      }
      this.armIdleTimer();
    }, Math.max(due, 10));
  }

  private finish(reason: string, endTransport = false): void {
    if (this.state === 'ended') return;
    this.enter('ended');
    const undelivered = this.queue.queued;
    // Released in the reverse order of their acquisition: engines and translation, timers, the queue.
    for (const release of this.releases.splice(0).reverse()) release();
    if (undelivered > 0) {
      // The socket went away (or was cut off) with transcripts still waiting for their turn.
      this.log.warn({ undelivered, reason }, 'transcript events not delivered: session ended');
      this.metrics.eventsUndelivered(undelivered, 'session ended');
    }
    this.metrics.sessionEnded({ probe: this.probe, engine: this.engineName, outcome: outcomeOf(reason, this.engineName !== undefined), reason });
    this.log.info(
      {
        reason,
        probe: this.probe,
        streamSeconds: Math.round(this.timeline.position * 1000) / 1000,
        eventsSent: this.queue.sentEvents,
        interimsShed: this.queue.droppedInterims,
        framesDropped: this.framesDropped,
        maxPositionDrift: Math.round(this.maxPositionDrift * 1000) / 1000,
        ...(this.call?.summary() ?? { engineRestarts: 0, engineRotations: 0, audioNotTranscribedMs: 0 }),
        ...(this.failedOverTo ? { failedOverTo: this.failedOverTo } : {}),
        ...(this.bot ? { voiceBot: this.bot.summary() } : {}),
      },
      'session ended',
    );
    if (endTransport) this.init.transport.end();
    this.init.onEnd?.(reason);
  }

  private async withTimeout(p: Promise<unknown>, ms: number, what: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.log.warn({ ms }, `${what} timed out`);
        resolve();
      }, ms);
    });
    await Promise.race([p.then(() => undefined, (err: unknown) => this.log.warn({ err }, `${what} failed`)), timeout]);
    clearTimeout(timer);
  }
}

/**
 * The `disconnect` info for an engine that gave up: what the engine said when it refused the
 * stream (written for a Genesys admin: credentials, permissions, model), else that it is down.
 */
function engineFailureInfo(error: Error): string {
  if (error instanceof EngineError) {
    return error.retryable ? `speech engine unavailable: ${error.message}` : `speech engine error: ${error.message}`;
  }
  return 'speech engine unavailable';
}
