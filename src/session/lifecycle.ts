/**
 * The session's lifecycle as data: for every state, what the client may send, what happens to
 * audio, what the server may send, where it may go next and what an idle timeout does. The
 * compiler checks that every state has every rule and every client message type a rule.
 *
 *   awaiting-open ──open──▶ active ⇄ paused          (startPaused: straight to paused)
 *        │                    │ close / shutdown
 *        │                    ▼
 *        │                 closing ──flushed──▶ closed sent ─▶ ended
 *        └── violation, refusal, idle, engine failure ─▶ disconnecting ──client's close──▶ ended
 *   (a dropped socket ends any state at once)
 */
import type { ClientMessageType } from '../protocol/messages.js';
import type { SessionOutcome } from './metrics.js';

export type SessionState = 'awaiting-open' | 'active' | 'paused' | 'closing' | 'disconnecting' | 'ended';

/** What a client text message does: go to its handler, end the session as a protocol error, or nothing. */
export type MessageRule = 'handle' | 'violation' | 'ignore';

export interface StateRules {
  /** The envelope (session id, seq, serverseq) is checked. After `disconnect` only `close` matters, whatever its seq. */
  checksEnvelope: boolean;
  messages: Readonly<Record<ClientMessageType, MessageRule>>;
  /** Binary frames: to the engines, dropped quietly (a pause races the audio), or a protocol error. */
  audio: 'route' | 'drop' | 'violation';
  /** Transcript events may be queued and sent. */
  events: boolean;
  /** `disconnect` may be sent (at most once: never from disconnecting). */
  disconnect: boolean;
  /** `closed` may be sent (the answer to the client's `close`). */
  closed: boolean;
  /** `pause`/`resume` may be sent (asking the client to hold audio for a language the engine lacks). */
  pauseResume: boolean;
  /** States this one may move to. */
  next: readonly SessionState[];
  /** An idle timeout asks the client to end (`disconnect`) or, when that was done already, gives up on it. */
  onIdle: 'disconnect' | 'end';
  /**
   * The client's `close`: answered at once (`closed`), after the engines are flushed and the
   * events sent (`flush`), or by the flush already under way (`join`: a shutdown's).
   */
  onClose: 'answer' | 'flush' | 'join';
  /** A server shutdown: flush the call then `disconnect`, `disconnect` at once, or nothing left to do. */
  onShutdown: 'flush' | 'disconnect' | 'none';
}

/** Audio Connector messages (voice bots): not part of transcription, accepted and ignored. */
const AUDIO_CONNECTOR = { dtmf: 'ignore', playback_started: 'ignore', playback_completed: 'ignore' } as const;

/** A live conversation: everything but a second `open` is handled. */
const CONVERSING: Readonly<Record<ClientMessageType, MessageRule>> = {
  open: 'violation',
  ping: 'handle',
  close: 'handle',
  paused: 'handle',
  resumed: 'handle',
  discarded: 'handle',
  update: 'handle',
  error: 'handle',
  ...AUDIO_CONNECTOR,
};

export const RULES = {
  'awaiting-open': {
    checksEnvelope: true,
    // A client giving up before it opened (its own open timeout) still gets its `closed`.
    messages: { ...CONVERSING, open: 'handle', ping: 'violation', paused: 'violation', resumed: 'violation', discarded: 'violation', update: 'violation', error: 'violation', dtmf: 'violation', playback_started: 'violation', playback_completed: 'violation' },
    audio: 'violation',
    events: false,
    disconnect: true,
    closed: true,
    pauseResume: false,
    next: ['active', 'paused', 'disconnecting', 'ended'],
    onIdle: 'disconnect',
    onClose: 'answer',
    onShutdown: 'disconnect',
  },
  active: {
    checksEnvelope: true,
    messages: CONVERSING,
    audio: 'route',
    events: true,
    disconnect: true,
    closed: false,
    pauseResume: true,
    next: ['paused', 'closing', 'disconnecting', 'ended'],
    onIdle: 'disconnect',
    onClose: 'flush',
    onShutdown: 'flush',
  },
  paused: {
    checksEnvelope: true,
    messages: CONVERSING,
    audio: 'drop',
    events: true,
    disconnect: true,
    closed: false,
    pauseResume: true,
    next: ['active', 'closing', 'disconnecting', 'ended'],
    onIdle: 'disconnect',
    onClose: 'flush',
    onShutdown: 'flush',
  },
  // The engines finalize and the queue drains; then `closed` (the client's close) or `disconnect` (a shutdown).
  closing: {
    checksEnvelope: true,
    // The call is over: a language change or a pause would only start what is being wound down.
    messages: { ...CONVERSING, paused: 'ignore', resumed: 'ignore', discarded: 'ignore', update: 'ignore' },
    audio: 'drop',
    events: true,
    disconnect: true,
    closed: true,
    pauseResume: false,
    next: ['disconnecting', 'ended'],
    onIdle: 'end',
    onClose: 'join',
    onShutdown: 'none',
  },
  disconnecting: {
    checksEnvelope: false,
    messages: { open: 'ignore', ping: 'ignore', close: 'handle', paused: 'ignore', resumed: 'ignore', discarded: 'ignore', update: 'ignore', error: 'ignore', ...AUDIO_CONNECTOR },
    audio: 'drop',
    events: false,
    disconnect: false,
    closed: true,
    pauseResume: false,
    next: ['ended'],
    onIdle: 'end',
    onClose: 'answer',
    onShutdown: 'none',
  },
  ended: {
    checksEnvelope: false,
    messages: { open: 'ignore', ping: 'ignore', close: 'ignore', paused: 'ignore', resumed: 'ignore', discarded: 'ignore', update: 'ignore', error: 'ignore', ...AUDIO_CONNECTOR },
    audio: 'drop',
    events: false,
    disconnect: false,
    closed: false,
    pauseResume: false,
    next: [],
    onIdle: 'end',
    onClose: 'answer',
    onShutdown: 'none',
  },
} as const satisfies Record<SessionState, StateRules>;

/**
 * Voice-bot sessions (Audio Connector): the same lifecycle, but keys and playback reports are
 * handled while the conversation runs. On the transcription path they stay ignored.
 */
const BOT_MESSAGES = { dtmf: 'handle', playback_started: 'handle', playback_completed: 'handle' } as const;
export const VOICE_BOT_RULES = {
  ...RULES,
  active: { ...RULES.active, messages: { ...RULES.active.messages, ...BOT_MESSAGES } },
  paused: { ...RULES.paused, messages: { ...RULES.paused.messages, ...BOT_MESSAGES } },
} as const satisfies Record<SessionState, StateRules>;

export type LifecycleTable = typeof RULES | typeof VOICE_BOT_RULES;

/** Why a violation happened in a state, for the `disconnect` info. */
export function violationInfo(state: SessionState, type: ClientMessageType): string {
  return state === 'awaiting-open' ? `expected open, got ${type}` : `duplicate ${type}`;
}

/** How a session ended, from its end reason, for the sessions-by-outcome count. */
export function outcomeOf(reason: string, opened: boolean): SessionOutcome {
  if (reason.startsWith('close:') || reason === 'close before open') return 'closed';
  if (reason.startsWith('disconnect:')) {
    if (!opened) return 'refused';
    return reason === 'disconnect:completed' ? 'completed' : 'error';
  }
  return 'dropped';
}
