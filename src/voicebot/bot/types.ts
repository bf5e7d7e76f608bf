/**
 * The bot behind a voice-bot session, as the session sees it: one HTTP request per turn (the
 * webhook schema documented in the README, or Rasa's REST channel), one reply.
 */

export type BotEventType = 'start' | 'utterance' | 'dtmf' | 'no_input' | 'end';

/** What the bot is told at each turn (the webhook request body, see README "voice bots"). */
export interface BotRequest {
  sessionId: string;
  conversationId: string;
  /** The Architect "Connector ID" (the path after AUDIO_CONNECTOR_PATH). */
  connectorId: string;
  language: string;
  /** 1 for `start`, +1 per request. */
  turn: number;
  event: BotEventType;
  /** Architect's input variables (`open.parameters.inputVariables`), `{}` when none. */
  inputVariables: Record<string, string>;
  caller: { ani: string; aniName: string; dnis: string };
  /** `utterance`: what the caller said ('' when speech was heard but nothing recognized). */
  text?: string;
  /** `utterance`: recognition confidence in [0, 1], when the engine gives one. */
  confidence?: number;
  /** `dtmf`: the digits collected (terminator not included). */
  digits?: string;
  /** Set on the turn that follows a barge-in: how much of the interrupted prompt the caller heard. */
  bargeIn?: { heardMs: number; promptMs: number; heardText: string };
  /** `end`: why the call ended (`hangup`, `bot`, `error`, `shutdown`). */
  reason?: string;
}

/** What the bot answers (normalized from either format). */
export interface BotReply {
  /** Prompts to speak, in order ([] = say nothing this turn). */
  say: string[];
  /** End the session after speaking `say`. */
  end: boolean;
  /** Returned to Architect with `disconnect` (every value a string). */
  outputVariables: Record<string, string>;
  /** Collect digits for the next turn instead of (or as well as) speech. */
  collectDigits?: { maxDigits?: number; terminator?: string; interDigitTimeoutMs?: number };
  /** Whether the caller may interrupt these prompts (default true). */
  bargeIn: boolean;
}

/** One configured bot (BOT_WEBHOOK_URL, or an entry of BOTS). */
export interface BotEndpoint {
  url: string;
  /** HMAC-SHA256 key for the request signature; unsigned when absent. */
  secret?: string | undefined;
  format: 'webhook' | 'rasa';
  /** Synthesizer name (TTS_PROVIDER when absent). */
  tts?: string | undefined;
  voice?: string | undefined;
  /** Session language when `open` names none. */
  language?: string | undefined;
}

export type BotErrorKind = 'timeout' | 'http' | 'network' | 'bad-reply' | 'aborted';

/** A failed turn. `message` is safe to log: status and kind, never the body, URL query or secret. */
export class BotError extends Error {
  constructor(
    message: string,
    readonly kind: BotErrorKind,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'BotError';
  }
}

export interface BotClient {
  /** One turn. Rejects with a BotError (timeout after the client's timeout, or `aborted` on `signal`). */
  ask(request: BotRequest, signal: AbortSignal): Promise<BotReply>;
}
