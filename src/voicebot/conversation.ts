/**
 * One voice-bot call: the turns between the caller and the bot. The caller's words (the
 * session's speech engine) and keys go to the bot, one HTTP request per turn; the bot's prompts
 * are synthesized and played into the call; the caller may interrupt them (barge-in).
 *
 *   starting ──reply──▶ speaking ──played──▶ listening ──words / keys / no input──▶ waiting ──reply──▶ speaking …
 *        any reply with `end` ──▶ ending (last prompt, then `disconnect completed`) ──▶ over
 *
 * What each turn state does with the caller's input is a table (TURN_RULES) the compiler checks.
 */
import type { Logger } from 'pino';
import { engineSupportsLanguage } from '../engines/types.js';
import type { SpeechSynthesizer } from '../synthesis/types.js';
import { BotError, type BotClient, type BotEventType, type BotReply, type BotRequest } from './bot/types.js';
import { CallerVoice } from './caller-voice.js';
import { DigitCollector } from './digits.js';
import type { VoiceBotOptions } from './options.js';
import { BotAudioPlayer, type Prompt } from './player.js';
import { CallTimers } from './timers.js';

/** Voice this long means the caller has started speaking. */
const SPEECH_STARTED_MS = 60;

export type TurnState = 'starting' | 'waiting' | 'speaking' | 'listening' | 'ending' | 'over';

interface TurnRules {
  /** A caller turn (words, keys): sent to the bot now, kept until the bot can take it, or dropped (the call is ending). */
  callerTurn: 'send' | 'hold' | 'drop';
  /** The caller may interrupt what is playing (when the prompt allows it). */
  bargeIn: boolean;
  next: readonly TurnState[];
}

const TURN_RULES = {
  starting: { callerTurn: 'hold', bargeIn: false, next: ['speaking', 'listening', 'ending', 'over'] },
  waiting: { callerTurn: 'hold', bargeIn: false, next: ['speaking', 'listening', 'ending', 'over'] },
  speaking: { callerTurn: 'hold', bargeIn: true, next: ['listening', 'waiting', 'ending', 'over'] },
  listening: { callerTurn: 'send', bargeIn: false, next: ['waiting', 'speaking', 'ending', 'over'] },
  ending: { callerTurn: 'drop', bargeIn: false, next: ['over'] },
  over: { callerTurn: 'drop', bargeIn: false, next: [] },
} as const satisfies Record<TurnState, TurnRules>;

export interface VoiceBotMetrics {
  /** A bot turn answered; latency parts when the turn followed caller speech or keys. */
  botTurn?(event: BotEventType, latency: { totalMs: number; botMs: number; synthesisMs: number } | undefined): void;
  bargeIn?(outcome: 'committed' | 'false_alarm'): void;
  botFailure?(kind: string): void;
  synthesisFailure?(synthesizer: string): void;
}

export interface ConversationInit {
  request: Pick<BotRequest, 'sessionId' | 'conversationId' | 'connectorId' | 'language' | 'inputVariables' | 'caller'>;
  bot: BotClient;
  synthesizer: SpeechSynthesizer;
  voice: string | undefined;
  options: VoiceBotOptions;
  sendAudio(frame: Uint8Array): void;
  /** An event entity; `urgent` goes ahead of anything queued (barge_in). */
  sendEvent(entity: { type: string; data: object }, urgent: boolean): void;
  /** The bot ended the call: `disconnect completed` with these output variables. */
  complete(outputVariables: Record<string, string>): void;
  /** The call cannot go on: `disconnect error` with this info. */
  fail(info: string): void;
  log: Logger;
  metrics: VoiceBotMetrics;
}

/** A caller turn waiting for the bot. */
interface CallerTurn {
  event: 'utterance' | 'dtmf' | 'no_input';
  text?: string;
  confidence?: number;
  digits?: string;
  /** Wall time the caller stopped speaking / pressed the last key. */
  endedAt?: number;
}

/** The turn being answered: when each part started, for the latency figures. */
interface TurnTiming {
  event: BotEventType;
  endedAt: number | undefined;
  botMs: number;
  synthesisStartedAt: number;
  synthesisMs: number | undefined;
  recorded: boolean;
}

export class VoiceBotConversation {
  private state: TurnState = 'starting';
  private turn = 0;
  private failures = 0;
  private readonly timers = new CallTimers();
  private readonly player: BotAudioPlayer;
  private readonly voice: CallerVoice;
  private readonly digits: DigitCollector;
  /** The request in flight, and the prompts' synthesis: aborted by a barge-in or the end. */
  private botAbort: AbortController | undefined;
  private speechAbort: AbortController | undefined;
  /** What is being said: its prompts, text, whether it may be interrupted, whether synthesis is done. */
  private speech: { prompts: Prompt[]; text: string; interruptible: boolean; synthesized: boolean; timing: TurnTiming | undefined } | undefined;
  /** The caller's turn that waits for the bot (said while it was thinking or speaking uninterruptibly). */
  private held: CallerTurn | undefined;
  /** Set by a committed barge-in: told to the bot with the next turn. */
  private interrupted: BotRequest['bargeIn'];
  private softSince: number | undefined;
  private lastSpeechEndAt: number | undefined;
  private clientPlaybackEvents = false;
  private endVariables: Record<string, string> | undefined;
  private paused = false;
  private readonly counts = { bargeIns: 0, falseAlarms: 0, botFailures: 0 };
  private readonly log: Logger;

  constructor(private readonly init: ConversationInit) {
    this.log = init.log;
    const o = init.options;
    this.player = new BotAudioPlayer({
      ...o.audio,
      send: (frame) => init.sendAudio(frame),
      onPromptStarted: (prompt) => this.promptStarted(prompt),
      onIdle: () => this.played('clock'),
    });
    // The first threshold only says the caller has started (the no-input timer stops at once).
    this.voice = new CallerVoice([SPEECH_STARTED_MS, o.bargeIn.softMs, o.bargeIn.confirmMs], {
      onSpeech: (runMs) => this.callerSpeaking(runMs),
      onSilence: (_runMs, endedAt) => {
        this.lastSpeechEndAt = endedAt;
        if (this.state === 'listening') this.armNoInput();
      },
    });
    this.digits = new DigitCollector(o.dtmf, this.timers, (digits, end) => {
      this.log.debug({ digits: digits.length, end }, 'digits collected');
      this.callerTurn({ event: 'dtmf', digits, confidence: 1, endedAt: Date.now() });
    });
  }

  get turnState(): TurnState {
    return this.state;
  }

  /** After `opened`: the bot's greeting. */
  start(): void {
    this.ask({ event: 'start' }, undefined);
  }

  // ---- from the session -----------------------------------------------------------------

  callerAudio(frame: Uint8Array, format: 'PCMU' | 'L16', channelCount: number, arrivedAt: number): void {
    if (this.state === 'over' || this.paused) return;
    this.voice.pushFrame(frame, format, channelCount, arrivedAt);
  }

  /** A recognition result of the caller's channel. */
  transcript(text: string, confidence: number | undefined, isFinal: boolean): void {
    if (this.state === 'over') return;
    const words = text.trim();
    if (words && this.canBargeIn()) this.commitBargeIn('words');
    if (!isFinal || !words) return;
    this.callerTurn({ event: 'utterance', text: words, ...(confidence !== undefined ? { confidence } : {}), endedAt: this.lastSpeechEndAt ?? Date.now() });
  }

  digit(digit: string): void {
    if (this.state === 'over' || this.state === 'ending') return;
    if (!/^[0-9*#A-D]$/.test(digit)) return this.log.warn({ digit: digit.slice(0, 4) }, 'unknown dtmf digit ignored');
    if (this.canBargeIn()) this.commitBargeIn('dtmf');
    this.timers.clear('no-input');
    this.digits.push(digit);
  }

  playbackStarted(): void {
    this.clientPlaybackEvents = true;
  }

  /** Genesys played out everything it had: the prompt ended, unless more of it is still coming. */
  playbackCompleted(): void {
    this.clientPlaybackEvents = true;
    this.played('client');
  }

  /** The client paused (hold, secure pause): the pacer and every timer stop where they are. */
  pause(): void {
    this.paused = true;
    this.player.suspend('paused');
    this.timers.freeze();
    this.voice.reset();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.timers.thaw();
    this.player.resume('paused');
  }

  /** Whether the synthesizer speaks `language` (it declares its languages, or speaks any). */
  speaks(language: string): boolean {
    return engineSupportsLanguage(this.init.synthesizer, language);
  }

  get synthesizerName(): string {
    return this.init.synthesizer.name;
  }

  /** A language change (`update`): the bot hears it from the next turn, prompts are spoken in it. */
  setLanguage(language: string): void {
    this.init.request.language = language;
  }

  /** A 429 from Genesys: the bot's audio waits too. */
  holdAudio(ms: number): void {
    this.player.holdFor(ms);
  }

  /** The caller hung up or the server is going away: everything stops, the bot is told. */
  hangup(reason: 'hangup' | 'shutdown' | 'error'): void {
    if (this.state === 'over') return;
    const wasEnding = this.state === 'ending';
    this.stopAll();
    this.enter('over');
    if (wasEnding) return; // the bot ended it: nothing to tell
    const request = this.request({ event: 'end', reason });
    this.init.bot.ask(request, AbortSignal.timeout(this.init.options.botTimeoutMs)).catch((err: unknown) => {
      this.log.debug({ kind: err instanceof BotError ? err.kind : 'unknown' }, 'bot did not take the end of the call');
    });
  }

  /** For the session's last log line. */
  summary() {
    return { botTurns: this.turn, ...this.counts, botAudioSeconds: Math.round(this.player.framesSent * 2) / 10 };
  }

  release(): void {
    // Whatever ended the session without telling the bot (an idle timeout, an internal error): tell it now.
    this.hangup('hangup');
    this.player.dispose();
    this.voice.free();
  }

  // ---- turns ------------------------------------------------------------------------------

  private enter(next: TurnState): void {
    if (next === this.state) return;
    if (!(TURN_RULES[this.state].next as readonly TurnState[]).includes(next)) throw new Error(`turn state ${this.state} cannot go to ${next}`);
    this.state = next;
  }

  private callerTurn(turn: CallerTurn): void {
    const rule = TURN_RULES[this.state].callerTurn;
    if (rule === 'drop') return;
    if (rule === 'hold') {
      this.held = mergeTurns(this.held, turn);
      return;
    }
    this.timers.clear('no-input');
    this.ask(turn, turn.endedAt);
  }

  private ask(turn: Omit<CallerTurn, 'endedAt'> | { event: 'start' }, endedAt: number | undefined): void {
    const request = this.request(turn);
    if (this.interrupted) {
      request.bargeIn = this.interrupted;
      this.interrupted = undefined;
    }
    if (this.state !== 'starting') this.enter('waiting');
    const abort = new AbortController();
    this.botAbort = abort;
    const askedAt = performance.now();
    this.init.bot.ask(request, abort.signal).then(
      (reply) => {
        if (abort.signal.aborted || this.state === 'over') return;
        this.botAbort = undefined;
        this.failures = 0;
        const timing: TurnTiming = { event: request.event, endedAt, botMs: performance.now() - askedAt, synthesisStartedAt: 0, synthesisMs: undefined, recorded: false };
        if (request.event !== 'start' && request.event !== 'end') this.reportTurn(request, reply);
        this.answer(reply, request.event, timing);
      },
      (err: unknown) => {
        if (abort.signal.aborted || this.state === 'over') return;
        this.botAbort = undefined;
        this.botFailed(request.event, err);
      },
    );
  }

  private request(turn: Omit<CallerTurn, 'endedAt'> | { event: BotEventType; reason?: string }): BotRequest {
    this.turn += 1;
    const { endedAt: _, ...fields } = turn as CallerTurn;
    return { ...this.init.request, turn: this.turn, ...fields } as BotRequest;
  }

  /** `bot_turn_response`: how the bot took the caller's turn (Genesys reporting). */
  private reportTurn(request: BotRequest, reply: BotReply): void {
    if (!this.init.options.turnEvents) return;
    // no_match: a turn that carried nothing to match (a terminator key alone).
    const empty = request.event === 'dtmf' ? !request.digits : !request.text;
    const disposition = request.event === 'no_input' ? 'no_input' : empty ? 'no_match' : 'match';
    const data = { disposition, text: reply.say.join(' '), confidence: request.event === 'no_input' ? 0 : (request.confidence ?? 1) };
    this.init.sendEvent({ type: 'bot_turn_response', data }, false);
  }

  private answer(reply: BotReply, event: BotEventType, timing: TurnTiming): void {
    this.digits.expect(reply.collectDigits);
    if (reply.end) {
      this.endVariables = reply.outputVariables;
      this.enter('ending');
      if (reply.say.length === 0) return this.finishCall();
      return this.speak(reply.say, false, timing);
    }
    if (reply.say.length > 0) return this.speak(reply.say, reply.bargeIn, timing);
    this.log.debug({ event }, 'bot said nothing this turn');
    this.listen();
  }

  private botFailed(event: BotEventType, err: unknown): void {
    const kind = err instanceof BotError ? err.kind : 'internal';
    const message = err instanceof BotError ? err.message : 'bot client error';
    this.failures += 1;
    this.counts.botFailures += 1;
    this.init.metrics.botFailure?.(kind);
    this.log.warn({ event, kind, failures: this.failures, err: message }, 'bot turn failed');
    if (event === 'start' || this.failures >= this.init.options.maxBotFailures) {
      this.hangup('error');
      return this.init.fail(`bot unavailable: ${message}`.slice(0, 200));
    }
    this.speak([this.init.options.fallbackPrompt], true, undefined);
  }

  /** Back to the caller: a turn held meanwhile goes to the bot now; else the no-input timer runs. */
  private listen(): void {
    if (this.state === 'over' || this.state === 'ending') return;
    this.enter('listening');
    const held = this.held;
    this.held = undefined;
    if (held) return this.callerTurn(held);
    if (!this.digits.collecting) this.armNoInput();
  }

  private armNoInput(): void {
    this.timers.set('no-input', this.init.options.noInputMs, () => {
      if (this.state === 'listening' && !this.voice.speaking && !this.digits.collecting) this.callerTurn({ event: 'no_input' });
    });
  }

  // ---- speaking ---------------------------------------------------------------------------

  private speak(texts: string[], interruptible: boolean, timing: TurnTiming | undefined): void {
    if (this.state !== 'ending') this.enter('speaking');
    this.timers.clear('no-input');
    const abort = new AbortController();
    this.speechAbort = abort;
    const speech = { prompts: [] as Prompt[], text: texts.join(' '), interruptible, synthesized: false, timing };
    this.speech = speech;
    if (timing) timing.synthesisStartedAt = performance.now();
    void (async () => {
      for (const text of texts) {
        const prompt = this.player.start();
        speech.prompts.push(prompt);
        try {
          for await (const chunk of this.init.synthesizer.synthesize({ text, language: this.init.request.language, voice: this.init.voice, signal: abort.signal })) {
            if (abort.signal.aborted) break;
            if (timing && timing.synthesisMs === undefined) timing.synthesisMs = performance.now() - timing.synthesisStartedAt;
            prompt.write(chunk);
          }
        } catch (err) {
          if (abort.signal.aborted) return;
          this.init.metrics.synthesisFailure?.(this.init.synthesizer.name);
          this.log.warn({ err: err instanceof Error ? err.message : String(err), synthesizer: this.init.synthesizer.name }, 'speech synthesis failed');
          prompt.end();
          this.hangup('error');
          return this.init.fail('speech synthesis failed');
        }
        prompt.end();
        if (abort.signal.aborted) return;
      }
      speech.synthesized = true;
      if (!this.player.busy) this.played('clock');

    })();
  }

  private promptStarted(prompt: Prompt): void {
    const timing = this.speech?.timing;
    if (!timing || timing.recorded || this.speech?.prompts[0] !== prompt) return;
    timing.recorded = true;
    const totalMs = timing.endedAt === undefined ? undefined : Date.now() - timing.endedAt;
    this.init.metrics.botTurn?.(
      timing.event,
      totalMs === undefined ? undefined : { totalMs, botMs: timing.botMs, synthesisMs: timing.synthesisMs ?? 0 },
    );
    this.log.debug({ totalMs, botMs: Math.round(timing.botMs), synthesisMs: Math.round(timing.synthesisMs ?? 0) }, 'bot speaking');
  }

  /**
   * The caller heard the whole prompt: by Genesys' `playback_completed`, or by our clock. A client
   * that sends playback events (and the last prompt of the call) gets a margin past our clock for
   * its own word; both only count once everything was synthesized and sent.
   */
  private played(by: 'client' | 'clock'): void {
    const speech = this.speech;
    if (!speech || !speech.synthesized || this.player.hasQueued) return;
    if (by === 'clock' && (this.clientPlaybackEvents || this.state === 'ending')) {
      this.timers.set('playback', this.init.options.endMarginMs, () => this.promptHeard());
      return;
    }
    this.promptHeard();
  }

  private promptHeard(): void {
    this.timers.clear('playback');
    // A first-stage stop still waiting for proof has nothing left to hold back.
    this.softSince = undefined;
    this.timers.clear('barge-in');
    this.player.resume('barge-in');
    this.speech = undefined;
    this.speechAbort = undefined;
    if (this.state === 'ending') return this.finishCall();
    if (this.state === 'speaking') this.listen();
  }

  private finishCall(): void {
    if (this.state === 'over') return;
    this.stopAll();
    this.enter('over');
    this.init.complete(this.endVariables ?? {});
  }

  // ---- barge-in ---------------------------------------------------------------------------

  private canBargeIn(): boolean {
    return this.init.options.bargeIn.enabled && TURN_RULES[this.state].bargeIn && this.speech?.interruptible === true && !this.paused;
  }

  private callerSpeaking(runMs: number): void {
    this.timers.clear('no-input');
    const o = this.init.options.bargeIn;
    if (runMs < o.softMs || !this.canBargeIn()) return;
    if (runMs >= o.confirmMs) return this.commitBargeIn('speech');
    if (this.softSince !== undefined) return;
    // First stage: stop feeding frames (what Genesys holds plays out), wait for proof.
    this.softSince = Date.now();
    this.player.suspend('barge-in');
    this.timers.set('barge-in', o.resumeMs, () => {
      if (this.softSince === undefined) return;
      this.softSince = undefined;
      this.counts.falseAlarms += 1;
      this.init.metrics.bargeIn?.('false_alarm');
      this.log.debug('barge-in not confirmed: prompt resumed');
      this.player.resume('barge-in');
    });
  }

  private commitBargeIn(by: 'speech' | 'words' | 'dtmf'): void {
    const speech = this.speech;
    if (!speech) return;
    this.init.sendEvent({ type: 'barge_in', data: {} }, true);
    let heardMs = 0;
    let promptMs = 0;
    for (const p of speech.prompts) {
      heardMs += this.player.heardMs(p);
      promptMs += p.sentMs;
    }
    this.interrupted = { heardMs, promptMs, heardText: heardPart(speech.text, heardMs, promptMs, speech.synthesized) };
    this.counts.bargeIns += 1;
    this.init.metrics.bargeIn?.('committed');
    this.log.info({ by, heardMs, promptMs }, 'caller barged in');
    this.stopSpeech();
    this.listen();
  }

  private stopSpeech(): void {
    this.speechAbort?.abort();
    this.speechAbort = undefined;
    this.speech = undefined;
    this.softSince = undefined;
    this.timers.clear('barge-in');
    this.timers.clear('playback');
    // Emptied first: lifting a first-stage stop must not let the stopped prompt's frames out.
    this.player.stop();
    this.player.resume('barge-in');
  }

  private stopAll(): void {
    this.botAbort?.abort();
    this.botAbort = undefined;
    this.stopSpeech();
    this.digits.cancel();
    this.timers.clearAll();
  }
}

/** Two caller turns said before the bot could take the first: one turn (words joined, keys kept). */
function mergeTurns(held: CallerTurn | undefined, turn: CallerTurn): CallerTurn {
  if (!held || held.event === 'no_input') return turn;
  if (turn.event === 'no_input') return held;
  if (held.event === 'utterance' && turn.event === 'utterance') {
    return { ...turn, text: `${held.text ?? ''} ${turn.text ?? ''}`.trim(), confidence: Math.min(held.confidence ?? 1, turn.confidence ?? 1) };
  }
  return turn; // keys win over words said around them
}

/**
 * The words of an interrupted prompt the caller heard, in proportion to the time heard (speech
 * runs at a fairly even rate; synthesis gives no word times). Unknown length → what was sent.
 */
function heardPart(text: string, heardMs: number, promptMs: number, complete: boolean): string {
  if (promptMs <= 0 || heardMs <= 0) return '';
  const words = text.split(/\s+/).filter(Boolean);
  const fraction = complete ? Math.min(1, heardMs / promptMs) : Math.min(1, heardMs / Math.max(promptMs, 1));
  return words.slice(0, Math.floor(words.length * fraction)).join(' ');
}
