/**
 * Every server message checked the way a Genesys client checks it, before the call acts on it:
 *
 * - envelope: text only, size, JSON schema with `parameters` (parseServerMessage), the session id,
 *   seq without gaps, clientseq neither ahead of what the client sent nor going back;
 * - order: nothing before `opened` but `disconnect`, nothing after `disconnect` but `closed`,
 *   `event` only while open or closing, `closed` only after our `close` and answering it;
 * - contents: `opened` (one of the offered media, languages when asked; validate.ts), events
 *   (validate.ts), `pong` answering the ping that waits, `disconnect` reasons;
 * - when the client answered 429: no event the server wrote after reading the 429 arrives
 *   before its `retryAfter` is over.
 *
 * A violation is recorded, then reported to the call, which answers it (`error`, `close`) at
 * once. Checks after it on the same message see the call's new state, as a client that handles
 * messages one at a time would. A message that passes reaches the call through its `on…` hook.
 */
import { MAX_TEXT_MESSAGE_LENGTH, parseServerMessage, type MediaChannel, type MediaOffer, type ServerMessage } from '../../protocol/messages.js';
import { checkEvent, checkOpened, type OpenedInfo, type Transcript } from './validate.js';

export type CallState = 'opening' | 'open' | 'closing' | 'done';

export interface CheckerOptions {
  sessionId: string;
  offers: readonly MediaOffer[];
  /** `open` asked for `supportedLanguages` (or is a probe): `opened` must carry them. */
  askedForLanguages: boolean;
  /** Where violations are recorded (the summary's list). */
  violations: string[];
  state(): CallState;
  /** Channels of the media the server chose (none before `opened`). */
  channels(): readonly MediaChannel[];
  /** Seq of the last message the client sent. */
  lastClientSeq(): number;
  /** A violation was recorded: the client reports it to the server and ends the session (§10). */
  onViolation(text: string, code: number): void;
  onOpened(opened: OpenedInfo, now: number): void;
  onPong(rttMs: number): void;
  onEvent(event: { transcripts: Transcript[]; otherEntities: number }, now: number): void;
  onPause(): void;
  onResume(): void;
  onDisconnect(reason: string, info: string | undefined): void;
  onClosed(): void;
}

export interface ServerChecker {
  /** One WebSocket message from the server, received at `now`. */
  receive(data: Buffer, isBinary: boolean, now: number): void;
  /** Seq of the last server message (the client's `serverseq`). */
  readonly lastServerSeq: number;
  /** The ping still waiting for its pong. */
  readonly pendingPing: { seq: number; at: number } | undefined;
  pingSent(seq: number, at: number): void;
  closeSent(seq: number): void;
  /** The client answered 429 with this seq at `at`, asking for a hold of `ms`. */
  holdRequested(seq: number, at: number, ms: number): void;
  /** A violation the call's own clock found (a pong that never came): recorded and reported. */
  violation(text: string, code?: number): void;
  /** Recorded only: the call ends at once instead of closing (open and close timeouts). */
  record(text: string): void;
}

/**
 * Slack at the end of a 429 hold: the server measures the hold on its own clock from when it read
 * the 429 (never earlier than we sent it) in whole milliseconds, so an event a few ms early is
 * clock rounding, not a broken hold.
 */
const HOLD_END_SLACK_MS = 5;

export function createServerChecker(opts: CheckerOptions): ServerChecker {
  let lastServerSeq = 0;
  let lastClientSeqAcked = 0;
  let closeSeq = 0;
  let disconnected = false;
  let pendingPing: { seq: number; at: number } | undefined;
  let holds: Array<{ seq: number; until: number; ms: number }> = [];

  const violation = (text: string, code = 500): void => {
    opts.violations.push(text);
    opts.onViolation(text, code);
  };

  /** An event the server wrote after reading a 429 (its clientseq says so) while that hold lasts. */
  const heldBy = (m: ServerMessage, now: number): { seq: number; ms: number } | undefined => {
    holds = holds.filter((h) => now < h.until);
    return holds.find((h) => m.clientseq >= h.seq);
  };

  const handle = (m: ServerMessage, now: number): void => {
    const p = m.parameters;
    const state = opts.state();
    if (disconnected && m.type !== 'closed') return violation(`${m.type} after disconnect`, 409);
    switch (m.type) {
      case 'opened': {
        if (state !== 'opening') return violation('opened when not opening', 409);
        if (m.clientseq !== 1) return violation(`opened.clientseq ${m.clientseq}, expected 1`, 400);
        const r = checkOpened(p, opts.offers, opts.askedForLanguages);
        if (!r.ok) return violation(r.error, 400);
        return opts.onOpened(r.value, now);
      }
      case 'pong': {
        if (!pendingPing || m.clientseq !== pendingPing.seq) {
          return violation(`pong.clientseq ${m.clientseq} does not answer ping seq ${pendingPing?.seq ?? 'none'}`, 400);
        }
        const rtt = now - pendingPing.at;
        pendingPing = undefined;
        return opts.onPong(rtt);
      }
      case 'event': {
        if (state !== 'open' && state !== 'closing') return violation('event outside the open session', 409);
        const r = checkEvent(p, opts.channels());
        if (!r.ok) return violation(r.error, 400);
        const hold = holds.length > 0 ? heldBy(m, now) : undefined;
        // Not reported as 429: that would ask for another hold. The transcript itself is sound:
        // it still counts, like a message after a seq gap.
        if (hold) violation(`event seq ${m.seq} sent during the ${hold.ms / 1000} s hold asked for by 429 (seq ${hold.seq})`, 409);
        return opts.onEvent(r.value, now);
      }
      case 'pause':
        return opts.onPause();
      case 'resume':
        return opts.onResume();
      case 'disconnect': {
        const reason = p.reason;
        if (reason !== 'completed' && reason !== 'unauthorized' && reason !== 'error') {
          violation(`disconnect.reason ${JSON.stringify(reason)} is not completed|unauthorized|error`, 400);
        }
        disconnected = true;
        return opts.onDisconnect(String(reason), typeof p.info === 'string' ? p.info : undefined);
      }
      case 'closed': {
        if (state !== 'closing') return violation('closed without a close', 409);
        // clientseq is the last client message the server read: our close, or one we sent after
        // it (a 429 answering the last events).
        const sent = opts.lastClientSeq();
        if (m.clientseq < closeSeq || m.clientseq > sent) {
          violation(`closed.clientseq ${m.clientseq}, expected ${closeSeq}${sent > closeSeq ? `..${sent}` : ''}`, 400);
        }
        return opts.onClosed();
      }
      case 'updated':
      case 'reconnect':
        return; // defined in the schema; Genesys does not act on them
    }
  };

  return {
    receive(data, isBinary, now) {
      if (isBinary) return violation('binary frame from a transcription server', 415);
      const text = data.toString('utf8');
      if (text.length > MAX_TEXT_MESSAGE_LENGTH) return violation(`text message of ${text.length} characters (max ${MAX_TEXT_MESSAGE_LENGTH})`, 413);
      const parsed = parseServerMessage(text);
      if (!parsed.ok) return violation(`malformed server message: ${parsed.error}`, 400);
      const m = parsed.message;
      if (m.id !== opts.sessionId) return violation(`message id ${m.id} is not the session id`, 400);
      if (m.seq !== lastServerSeq + 1) violation(`server seq gap: expected ${lastServerSeq + 1}, got ${m.seq} (${m.type})`);
      // Resynchronise after a gap so one skip is reported once, not on every later message.
      lastServerSeq = m.seq;
      const sent = opts.lastClientSeq();
      if (m.clientseq > sent) violation(`clientseq ${m.clientseq} is ahead of the last client seq ${sent}`, 400);
      else if (m.clientseq < lastClientSeqAcked) violation(`clientseq went back from ${lastClientSeqAcked} to ${m.clientseq}`, 400);
      lastClientSeqAcked = Math.max(lastClientSeqAcked, m.clientseq);
      if (opts.state() === 'opening' && m.type !== 'opened' && m.type !== 'disconnect') {
        return violation(`${m.type} before opened`, 409);
      }
      handle(m, now);
    },
    get lastServerSeq() {
      return lastServerSeq;
    },
    get pendingPing() {
      return pendingPing;
    },
    pingSent(seq, at) {
      pendingPing = { seq, at };
    },
    closeSent(seq) {
      closeSeq = seq;
    },
    holdRequested(seq, at, ms) {
      holds.push({ seq, until: at + ms - HOLD_END_SLACK_MS, ms });
    },
    violation,
    record(text) {
      opts.violations.push(text);
    },
  };
}
