/**
 * The oracle for voice-bot sessions: what a correct Audio Connector server answers to what the
 * client put on the wire, and what it may do on its own.
 *
 * The walk is session-model.ts's (protocol §2–§6: envelope checks, violations, pong per ping,
 * closed after close, a `disconnect` answered only by `closed`), with the voice-bot rules of
 * lifecycle.ts VOICE_BOT_RULES: `dtmf` and `playback_*` are handled while the conversation runs,
 * a violation before `open`, ignored while closing or disconnecting. Besides the idle and open
 * timeouts the server may end a conversation by itself, anywhere after `opened`:
 * `disconnect {reason:"completed", outputVariables}` when the bot's plan ends the call,
 * `disconnect {error, "bot unavailable: …"}` when the bot fails (its plan fails a turn, or a turn
 * times out on a loaded machine); `disconnect {error, "speech synthesis failed"}` only after an
 * `update` to a language flite cannot speak (V3, tolerated). At `open`, the connector's bot is
 * looked up first (an unknown or empty connector id is refused naming it, whatever else the open
 * says), then the open is negotiated, then the session language must be one the synthesizer
 * speaks (flite: English). Every placement of such an end among the client's frames that explains
 * the server's messages is a correct run. After a `disconnect` the server may cut off a client
 * that has not answered, once the idle timeout has passed since its last message the server had
 * certainly seen.
 *
 * Beside the walk: the bot's audio (binary frames of exactly 1,600 bytes, only between `opened`
 * and `disconnect`/`closed`, never more than the lead ahead of real time, none where no bot
 * speaks, none on hold, none of an interrupted prompt after `barge_in`, the server's count equal
 * to what arrived; a goodbye played out before `disconnect completed`, `no_input` only after the
 * prompt played out), its events (`barge_in` {} and `bot_turn_response` {disposition, text,
 * confidence}, texts the bot said), `outputVariables` (a string map, the bot's own), and what the
 * bot heard (nothing for probes or refused sessions, `start` first, only real keys in the order
 * pressed, never an invalid one, `end` with the right reason when the call ends without the bot).
 */
import { checkServerMessages, chooseOffer, parseFailure, MAX_TEXT, type Sent } from './session-model.js';
import { MAX_PAYLOAD, type Cls } from './session-arbitraries.js';
import { FAILING_MOVES, ENDING_MOVES, type BotMove, type BotSessionLog } from './voicebot-bot.js';
import type { VbEnding } from './voicebot-arbitraries.js';

export const FRAME_BYTES = 1600;
const FRAME_MS = 200;
/** BOT_AUDIO_LEAD_FRAMES (the default). */
export const LEAD_FRAMES = 3;

/** What the walks went through, by label (FUZZ_COVERAGE=1 prints it). */
export const VB_COVERAGE = new Map<string, number>();
const count = (label: string) => void VB_COVERAGE.set(label, (VB_COVERAGE.get(label) ?? 0) + 1);

const DISPOSITIONS = ['match', 'no_match', 'no_input'];

/**
 * Known server defects the main property tolerates (each with its own focused property that
 * fails until it is fixed). None so far.
 */
export interface VbTolerate {
  /** V1: a socket that drops mid-call is never told to the bot (no `end` request; README: "`end`: the caller hung up"). */
  dropNotToldToBot: boolean;
  /** A drop is a hang-up, nothing else (the focused V1 property, whose cases leave no room for a race). */
  strictDropReason?: boolean;
  /**
   * V2: stopping a prompt during a first-stage barge-in stop resumes the player before dropping its
   * queue: up to the lead of the stopped prompt goes out after `barge_in` (or, at a disconnect, is
   * counted as sent but dropped).
   */
  stoppedPromptLeaks: boolean;
  /**
   * V3: an `update` to a language the synthesizer cannot speak is taken (the prompts switch to it)
   * and the call fails at its next prompt with `speech synthesis failed`, where `open` refuses such
   * a language up front.
   */
  updateToUnspeakableLanguage: boolean;
}
export const VB_STRICT: VbTolerate = { dropNotToldToBot: false, stoppedPromptLeaks: false, updateToUnspeakableLanguage: false };

export interface VbInput {
  sessionId: string;
  /** The connector id of the path, and whether BOTS names it. */
  connector: { id: string; known: boolean };
  plan: readonly BotMove[];
  sent: Sent[];
  texts: string[];
  /** Each binary frame: its size, how many text messages came before it, when it arrived (Date.now). */
  binaries: Array<{ size: number; afterTexts: number; at: number }>;
  /** When the client sent its first `open` (Date.now); undefined when it sent none. */
  openSentAt: number | undefined;
  /** When the client asked for the upgrade, and when each frame of `sent` was sent (Date.now). */
  upgradedAt: number;
  sentTimes: number[];
  /** When each text message arrived (Date.now). */
  textTimes: number[];
  /** When the socket closed (Date.now). */
  socketClosedAt: number | undefined;
  /** IDLE_TIMEOUT_SECONDS, in ms: after a `disconnect` the server may give up on a client that sends no `close` for this long. */
  idleMs: number;
  /** BOT_NO_INPUT_SECONDS and BOT_END_MARGIN_MS, in ms. */
  noInputMs: number;
  endMarginMs: number;
  closedByServer: boolean;
  ending: VbEnding;
  bot: BotSessionLog;
  /** The session's `voiceBot` summary from its `session ended` line. */
  summary: Record<string, unknown> | undefined;
}

export interface VbVerdict {
  problems: string[];
  /** The session opened as a conversation with a bot (not a probe, with media, a known connector). */
  conversation: boolean;
  /** How it ended (for the coverage labels). */
  end: string;
  /** A turn timed out though its plan did not say `slow` (a loaded machine): allowed, counted. */
  loadTimeouts: number;
  /** The bot must get an `end` request with this reason (it may arrive after the session ended). */
  /** `hangup or error`: the client dropped the socket right after sending what makes the server end the call (either came first). */
  botMustHearEnd: { reason: 'hangup' | 'error' | 'hangup or error'; why: string } | undefined;
}

type State = 'awaiting' | 'active' | 'paused' | 'closing' | 'disc' | 'ended' | 'dead';
type SMsg = Record<string, unknown> & { type?: unknown; parameters?: unknown };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min: number) => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
const isStringMap = (v: unknown): v is Record<string, string> => isObject(v) && Object.values(v).every((x) => typeof x === 'string');
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function short(m: SMsg | undefined): string {
  if (!m) return 'nothing';
  const p = JSON.stringify(m['parameters']) ?? '';
  return `${String(m['type'])}#${String(m['seq'])}(clientseq ${String(m['clientseq'])}) ${p.length > 160 ? `${p.slice(0, 160)}…` : p}`;
}

/** Whether flite can speak the session language (English only). */
function speakable(language: unknown): boolean {
  const tag = typeof language === 'string' && language.trim() !== '' ? language.trim() : 'en-US';
  return tag.replace(/_/g, '-').split('-')[0]!.toLowerCase() === 'en';
}

export function checkVoiceBotSession(input: VbInput, tolerate: VbTolerate): VbVerdict {
  const { sessionId, sent, texts, closedByServer, ending, plan, bot } = input;
  const problems: string[] = [];
  const problem = (p: string) => void problems.push(p);

  // ---- every server text message, whatever happened (§2) ----
  const { msgs, types, openedAt, endAt } = checkServerMessages(sessionId, sent, texts, problem, (p) => {
    if (p['reason'] !== 'completed' && (typeof p['info'] !== 'string' || p['info'].length === 0 || p['info'].length > 200)) problem(`disconnect info ${JSON.stringify(p['info'])} (short text expected)`);
    if (p['reason'] === 'completed' && p['info'] !== undefined && typeof p['info'] !== 'string') problem(`disconnect info ${JSON.stringify(p['info'])}`);
    if (p['outputVariables'] !== undefined) {
      if (!isStringMap(p['outputVariables'])) problem(`disconnect outputVariables is not a string→string map: ${JSON.stringify(p['outputVariables']).slice(0, 200)}`);
      if (p['reason'] !== 'completed') problem(`outputVariables on a disconnect ${String(p['reason'])}`);
    }
  });

  // ---- events: barge_in and bot_turn_response only, well-formed, between opened and the end ----
  const saidTexts = new Set(bot.answers.map((a) => a.text));
  let events = 0;
  let turnResponses = 0;
  msgs.forEach((m, i) => {
    if (m.type !== 'event') return;
    events += 1;
    if (openedAt < 0 || i < openedAt) problem(`event (message ${i + 1}) before opened`);
    if (endAt >= 0 && i > endAt) problem(`event (message ${i + 1}) after ${types[endAt]}`);
    const entities = isObject(m.parameters) ? m.parameters['entities'] : undefined;
    if (!Array.isArray(entities) || entities.length === 0) return problem(`event (message ${i + 1}) without entities: ${JSON.stringify(m.parameters).slice(0, 200)}`);
    for (const e of entities as unknown[]) {
      if (!isObject(e)) {
        problem(`event (message ${i + 1}): entity ${JSON.stringify(e)}`);
        continue;
      }
      const data = e['data'];
      if (e['type'] === 'barge_in') {
        count('event barge_in');
        if (!isObject(data) || Object.keys(data).length !== 0 || Object.keys(e).some((k) => k !== 'type' && k !== 'data')) problem(`barge_in entity is not {"type":"barge_in","data":{}}: ${JSON.stringify(e)}`);
      } else if (e['type'] === 'bot_turn_response') {
        count('event bot_turn_response');
        turnResponses += 1;
        const ok =
          isObject(data) &&
          DISPOSITIONS.includes(String(data['disposition'])) &&
          typeof data['text'] === 'string' &&
          typeof data['confidence'] === 'number' &&
          Number.isFinite(data['confidence']) &&
          data['confidence'] >= 0 &&
          data['confidence'] <= 1 &&
          Object.keys(data).every((k) => ['disposition', 'text', 'confidence'].includes(k));
        if (!ok) problem(`bot_turn_response entity malformed: ${JSON.stringify(e).slice(0, 300)}`);
        else {
          if (data['disposition'] === 'no_input' && data['confidence'] !== 0) problem(`bot_turn_response no_input with confidence ${String(data['confidence'])}`);
          if (!saidTexts.has(data['text'] as string)) problem(`bot_turn_response text ${JSON.stringify(data['text'])} is not what the bot answered (${JSON.stringify([...saidTexts])})`);
        }
      } else problem(`event (message ${i + 1}) with an entity of type ${JSON.stringify(e['type'])} (a voice-bot session sends barge_in and bot_turn_response only)`);
    }
  });
  const turnAnswers = bot.answers.filter((a) => a.event !== 'start' && a.event !== 'end').length;
  if (turnResponses > turnAnswers) problem(`${turnResponses} bot_turn_response events for ${turnAnswers} answered caller turns`);

  // ---- the bot's audio on the wire ----
  input.binaries.forEach((b, k) => {
    if (b.size !== FRAME_BYTES) problem(`binary frame ${k + 1} is ${b.size} bytes (bot audio comes in ${FRAME_BYTES}-byte frames)`);
    if (openedAt < 0 || b.afterTexts <= openedAt) problem(`binary frame ${k + 1} before opened`);
    if (endAt >= 0 && b.afterTexts > endAt) problem(`binary frame ${k + 1} after ${types[endAt]}`);
  });
  // Never more than the lead ahead of real time: frame k leaves no earlier than (k − lead + 1) frames after the first (which follows the open).
  if (input.openSentAt !== undefined) {
    for (const [k, b] of input.binaries.entries()) {
      const earliest = input.openSentAt + (k - LEAD_FRAMES + 1) * FRAME_MS - 50;
      if (b.at < earliest) {
        problem(`binary frame ${k + 1} arrived ${b.at - input.openSentAt} ms after the open: more than ${LEAD_FRAMES} frames ahead of real time`);
        break;
      }
    }
  }

  // ---- the session model, walked against the control messages ----
  const ctrl = msgs.filter((m) => m.type !== 'event');
  const info = (m: SMsg) => (isObject(m.parameters) ? String(m.parameters['info']) : '');
  const mayComplete = plan.some((m) => ENDING_MOVES.includes(m));
  const mayFailByPlan = plan.some((m) => FAILING_MOVES.includes(m));

  /**
   * After a `disconnect` the server may give up on a client that has not answered: once the idle
   * timeout has passed since the client's last activity the server had certainly seen — the
   * message the disconnect's clientseq names (or the upgrade). Audio in that state is no activity.
   */
  const cutOff = (() => {
    const d = msgs.find((m) => m.type === 'disconnect');
    if (!d || !closedByServer || types.includes('closed') || input.socketClosedAt === undefined) return { legit: false, why: 'the server closed the socket without closed' };
    const seen = sent.flatMap((x, i) => (x.k === 'text' && seqOf(x.text) === d['clientseq'] ? [input.sentTimes[i]!] : []));
    const from = Math.max(input.upgradedAt, ...seen.filter((t) => t <= input.socketClosedAt!));
    const waited = input.socketClosedAt - from;
    return { legit: waited >= input.idleMs - 50, why: `after its disconnect the server cut the socket off ${waited} ms after the client's last message it had seen, before the idle timeout (${input.idleMs} ms)` };
  })();

  const walk = (spontAt: number) => {
    const wp: string[] = [];
    const problem = (p: string) => void wp.push(p);
    const covered: string[] = [];
    const cover = (label: string) => void covered.push(label);
    let pos = 0;
    let halted = false;
    let st = 'awaiting' as State;
    let next = 1;
    let probe = false;
    let conversation = false;
    let unit: number | null = null;
    let endedBy = 'none';
    /** Index in `sent` of the frame being walked. */
    let at = -1;
    /** Holds the server had certainly taken: a ping sent while paused (its pong is the barrier), until `resumed` was sent. */
    const holds: Array<{ pingSeq: unknown; resumedAt: number }> = [];
    /** A language flite cannot speak was taken by an `update` (V3). */
    let unspeakableUpdate = false;
    /** What ended the call first (a close, then a violation while closing: the close). */
    const endBy = (why: string) => {
      if (endedBy === 'none') endedBy = why;
    };
    let loadTimeouts = 0;

    const take = (type: string, why: string, check?: (m: SMsg) => string | undefined): boolean => {
      if (halted) return false;
      const m = ctrl[pos];
      cover(`answer ${type} in ${st}`);
      if (!m) {
        halted = true;
        if (ending !== 'drop') problem(`expected ${type} (${why}); the server sent nothing more`);
        return false;
      }
      if (m.type !== type) {
        problem(`expected ${type} (${why}); got ${short(m)}`);
        halted = true;
        return false;
      }
      const wrong = check?.(m);
      if (wrong) problem(`${type} (${why}): ${wrong}`);
      pos += 1;
      return true;
    };
    const disconnectCheck = (reason: string, re: RegExp) => (m: SMsg) => {
      const p = isObject(m.parameters) ? m.parameters : {};
      if (p['reason'] !== reason) return `reason ${JSON.stringify(p['reason'])}, expected ${reason}`;
      if (!re.test(String(p['info']))) return `info ${JSON.stringify(p['info'])} does not match ${re}`;
      return undefined;
    };
    const clientseqIs = (seq: unknown) => (m: SMsg) => (m['clientseq'] === seq ? undefined : `clientseq ${JSON.stringify(m['clientseq'])}, expected ${JSON.stringify(seq)}`);

    const violation = (re: RegExp, why: string) => {
      cover(`violation in ${st}: ${re.source}`);
      const closing = st === 'closing';
      if (!take('disconnect', `violation: ${why}`, disconnectCheck('error', re))) return;
      endBy('violation');
      if (closing) {
        take('closed', 'the pending close, after the disconnect');
        st = 'ended';
      } else st = 'disc';
    };

    /**
     * An end the server may take by itself (idle/open timeout, the bot's end, the bot's failure,
     * synthesis failure): whether `m` is one, in the current state. Problems with an accepted one
     * are reported.
     */
    const spontaneous = (m: SMsg): string | undefined => {
      if (m.type !== 'disconnect') return undefined;
      const p = isObject(m.parameters) ? m.parameters : {};
      const i = info(m);
      if (st === 'awaiting') return p['reason'] === 'error' && (i === 'no open received' || i === 'idle timeout') ? i : undefined;
      if (st !== 'active' && st !== 'paused') return undefined;
      if (p['reason'] === 'error' && i === 'idle timeout') return 'idle timeout';
      if (!conversation) return undefined;
      if (p['reason'] === 'completed') {
        if (!mayComplete) return undefined;
        const vars = p['outputVariables'];
        const mine = bot.answers.filter((a) => a.end);
        if (!mine.some((a) => JSON.stringify(sortKeys(a.outputVariables)) === JSON.stringify(sortKeys(vars)))) {
          problem(`disconnect completed with outputVariables ${JSON.stringify(vars)}, which the bot never answered (its ends: ${JSON.stringify(mine.map((a) => a.outputVariables))})`);
        }
        return 'bot ended the call';
      }
      if (p['reason'] === 'error' && i === 'speech synthesis failed' && unspeakableUpdate && tolerate.updateToUnspeakableLanguage) return 'speech synthesis failed';
      if (p['reason'] === 'error' && /^bot unavailable: /.test(i)) {
        if (/^bot unavailable: bot did not answer within \d+ ms$/.test(i)) {
          if (!plan.includes('slow')) loadTimeouts += 1;
          return 'bot unavailable (timeout)';
        }
        if (mayFailByPlan && /^bot unavailable: (bot answered HTTP 500|bot reply is not valid JSON|bot reply invalid: .+)$/.test(i)) return 'bot unavailable (plan)';
        return undefined;
      }
      return undefined;
    };

    const preStep = (index: number) => {
      if (halted) return;
      const m = ctrl[pos];
      if (!m) return;
      if (st === 'closing' && m.type === 'closed') {
        pos += 1;
        st = 'ended';
        return;
      }
      if (index !== spontAt) return;
      const kind = spontaneous(m);
      if (!kind) return;
      pos += 1;
      st = 'disc';
      endBy(kind);
      cover(`spontaneous ${kind}`);
    };

    const onOpen = (v: Record<string, unknown>, cls: Cls) => {
      const p = v['parameters'] as Record<string, unknown>;
      const refuse = (why: string, reason: string, re: RegExp) => {
        if (take('disconnect', why, disconnectCheck(reason, re))) st = 'disc';
        endBy(`refused: ${why}`);
      };
      if (cls === 'shape') return refuse('open with malformed parameters', 'error', /invalid open parameters/);
      const participant = p['participant'] as Record<string, unknown>;
      probe = p['conversationId'] === '00000000-0000-0000-0000-000000000000' && participant['id'] === '00000000-0000-0000-0000-000000000000';
      if (cls === 'unauth') return refuse('open for another organization', 'unauthorized', /organizationId/);
      if (cls === 'semantic') return refuse('open with a bad customConfig/language', 'error', /./);
      const media = Array.isArray(p['media']) ? p['media'] : [];
      const chosen = chooseOffer(media);
      if (media.length > 0 && !chosen) return refuse('open offering no usable media (§5)', 'error', /no supported media/);
      // The open itself is judged first (an unauthorized one is refused as such); then the
      // connector's bot (a probe needs none).
      if (!probe && !input.connector.known) {
        const re = input.connector.id === '' ? /^no connector id: / : new RegExp(`^unknown connector id '${escape(input.connector.id.slice(0, 64))}': `);
        return refuse('open on a connector id no bot serves', 'error', re);
      }
      // flite speaks English only: a conversation in another language is refused at open, not at its first prompt.
      if (!probe && !speakable(p['language'])) return refuse('open in a language flite cannot speak', 'error', /^speech synthesis 'flite' does not speak \S+$/);
      take('opened', 'answer to open', (m) => {
        const o = isObject(m.parameters) ? m.parameters : {};
        const wrong: string[] = [];
        if (m['clientseq'] !== v['seq']) wrong.push(`clientseq ${JSON.stringify(m['clientseq'])} (open was ${JSON.stringify(v['seq'])})`);
        const expected = JSON.stringify(chosen ? [chosen.offer] : []);
        if (JSON.stringify(o['media']) !== expected) wrong.push(`media ${JSON.stringify(o['media'])}, expected ${expected}`);
        if (o['startPaused'] !== false) wrong.push(`startPaused ${JSON.stringify(o['startPaused'])}, expected false`);
        const langs = o['supportedLanguages'];
        if (p['supportedLanguages'] === true) {
          if (!Array.isArray(langs) || langs.length === 0 || !langs.every((l) => typeof l === 'string' && l !== '')) wrong.push(`supportedLanguages ${JSON.stringify(langs)}`);
        } else if (langs !== undefined) wrong.push('supportedLanguages sent but not asked for');
        return wrong.length > 0 ? wrong.join('; ') : undefined;
      });
      st = 'active';
      unit = chosen ? chosen.unit : null;
      conversation = !probe && chosen !== undefined;
    };

    const dispatch = (v: Record<string, unknown>, cls: Cls) => {
      const type = String(v['type']);
      const what = `${type} seq ${String(v['seq'])}`;
      if (st === 'awaiting') {
        if (type === 'close') {
          take('closed', 'close before open', clientseqIs(v['seq']));
          st = 'ended';
          endBy('close before open');
          return;
        }
        if (type !== 'open') return violation(/expected open/, `${what} before open`);
        return onOpen(v, cls);
      }
      const p = v['parameters'] as Record<string, unknown>;
      switch (type) {
        case 'open':
          return violation(/duplicate open/, `second open (${what})`);
        case 'ping':
          if (st === 'paused' && conversation) {
            // Until the first `resumed` the client sends after it, whatever the walk makes of that (an
            // end placed before it by this walk may have come after it on the server).
            const r = sent.findIndex((x, i) => i > at && x.k === 'text' && /"type":"resumed"/.test(x.text));
            holds.push({ pingSeq: v['seq'], resumedAt: r < 0 ? Number.POSITIVE_INFINITY : input.sentTimes[r]! });
          }
          take('pong', what, clientseqIs(v['seq']));
          return;
        case 'close':
          if (st !== 'closing') st = 'closing';
          endBy('close');
          return;
        case 'paused':
          if (st === 'active') st = 'paused';
          return;
        case 'resumed':
          if (st === 'paused') st = 'active';
          return;
        case 'update':
          if (st === 'closing') return;
          if (cls === 'semantic') return violation(/update\.language/, `${what}: language ${JSON.stringify(p['language'])}`);
          if (conversation && typeof p['language'] === 'string' && p['language'].trim() !== '' && !speakable(p['language'])) {
            cover('update to a language flite cannot speak');
            unspeakableUpdate = true;
            // Refused as at `open` (V3, fixed): the call ends at once with the reason.
            if (!tolerate.updateToUnspeakableLanguage) return violation(/^speech synthesis 'flite' does not speak \S+$/, `${what}: a language flite cannot speak`);
          }
          return;
        case 'dtmf':
        case 'playback_started':
        case 'playback_completed':
          cover(`${type} in ${st}${conversation ? '' : ' (no conversation)'}`);
          return;
        default:
          return;
      }
    };

    const onText = (s: Extract<Sent, { k: 'text' }>) => {
      if (s.bytes > MAX_PAYLOAD) {
        st = 'dead';
        return;
      }
      if (s.text.length > MAX_TEXT) {
        if (st !== 'disc') violation(/too large/, `${s.what}: ${s.text.length} characters`);
        return;
      }
      const head = parseFailure(s.text, s.cls);
      if (st === 'disc') {
        if ('msg' in head && head.msg['type'] === 'close') {
          if (!ctrl[pos] && cutOff.legit) {
            // Sent after the server gave up on the client (idle timeout after its disconnect): never read.
            cover('close after disconnect lost to the idle timeout');
            st = 'ended';
            return;
          }
          take('closed', 'answer to close after disconnect', clientseqIs(head.msg['seq']));
          st = 'ended';
        }
        return;
      }
      if ('fail' in head) return violation(head.fail, `${s.what}: ${s.text.slice(0, 80)}`);
      const v = head.msg;
      if (v['id'] !== sessionId) return violation(/session id mismatch/, `${s.what}: id ${JSON.stringify(v['id'])}`);
      if (v['seq'] !== next) return violation(/out of order/, `${s.what}: seq ${String(v['seq'])}, expected ${next}`);
      next = (v['seq'] as number) + 1;
      if ((v['serverseq'] as number) >= 1000) return violation(/ahead of server/, `${s.what}: serverseq ${String(v['serverseq'])}`);
      dispatch(v, s.cls);
    };

    const onBinary = (size: number) => {
      if (size > MAX_PAYLOAD) {
        st = 'dead';
        return;
      }
      switch (st) {
        case 'awaiting':
          return violation(/audio before open/, `${size}-byte frame before open`);
        case 'active':
          if (probe) return;
          if (unit === null) return violation(/no media was selected/, `${size}-byte frame, no media`);
          if (size === 0) return violation(/empty audio frame/, '0-byte frame');
          if (size % unit !== 0) return violation(/not a whole number/, `${size}-byte frame, ${unit} bytes per sample frame`);
          return;
        default:
          return;
      }
    };

    for (const [index, s] of sent.entries()) {
      at = index;
      preStep(index);
      if (halted) break;
      if (st === 'ended' || st === 'dead') continue;
      cover(`${s.k === 'text' ? 'text' : s.k === 'bin' ? 'binary' : 'bad utf8'} in ${st}${probe ? ' (probe)' : ''}`);
      if (s.k === 'utf8') st = 'dead';
      else if (s.k === 'bin') onBinary(s.size);
      else onText(s);
    }
    preStep(-1);

    // ---- how it must end ----
    if (!halted && ending !== 'drop') {
      if (st === 'closing') {
        take('closed', 'answer to close');
        if (!halted) st = 'ended';
      } else if (st === 'awaiting' || st === 'active' || st === 'paused') {
        // Only a client that stops talking leaves the session here: the server must end it.
        problem(`the session was left ${st}: no disconnect came for a client that stopped talking (got ${ctrl.slice(pos).map(short).join(' | ') || 'nothing'})`);
      }
      if (!halted) {
        if (st === 'disc') {
          if (!closedByServer) problem(ending === 'silent' ? 'a client that never answers disconnect was not cut off' : 'the close after disconnect was never answered with closed');
          else {
            // A client still busy (audio in real time) or silent: the server gave up on it, only after the idle timeout.
            cover(`server gave up on a client that did not answer disconnect (${ending})`);
            if (!cutOff.legit) problem(cutOff.why);
          }
        }
        if (st === 'dead' && !closedByServer) problem('the server kept a connection that sent an oversized or non-UTF-8 frame');
        if (closedByServer && st !== 'dead' && st !== 'disc' && st !== 'ended') problem(`the server closed the socket in state ${st}`);
      }
    }
    cover(`end ${endedBy} → ${st} (${ending})`);
    if (!halted && pos < ctrl.length) problem(`unexpected messages: ${ctrl.slice(pos).map(short).join(' | ')}`);
    return { problems: wp, st, probe, conversation, covered, pos, endedBy, loadTimeouts, holds, unspeakableUpdate };
  };

  const anySpontaneous = ctrl.some((m) => m.type === 'disconnect');
  const candidates = anySpontaneous ? [...sent.keys(), -1] : [-1];
  const walks = candidates.map(walk);
  const w = walks.find((x) => x.problems.length === 0) ?? walks.reduce((a, b) => (b.pos > a.pos ? b : a));
  for (const label of w.covered) count(label);
  problems.push(...w.problems);

  // ---- what depends on whether a conversation ran ----
  // The server's view: a dropped client may not have seen the `opened` the server sent.
  const conversation = w.conversation;
  if (!conversation) {
    if (input.binaries.length > 0) problem(`${input.binaries.length} binary frame(s) in a session without a bot conversation (${w.probe ? 'probe' : openedAt < 0 ? 'never opened' : 'no media'})`);
    if (events > 0) problem(`${events} event(s) in a session without a bot conversation`);
    if (bot.requests.length > 0) problem(`the bot was asked ${bot.requests.map((r) => r.event).join(', ')} for a session without a conversation (${w.probe ? 'probe' : 'refused or no media'})`);
  } else {
    // Where no prompt can play, no audio may come: a failed or silent start.
    const start = plan[0] ?? 'greet';
    if (input.binaries.length > 0 && (FAILING_MOVES.includes(start) || start === 'endQuiet')) problem(`${input.binaries.length} binary frame(s), but the bot's start was '${start}'`);
    checkBotRequests(input, problem);
    // Audio needs something said: an answer with a prompt, or the fallback prompt of a failed turn.
    const spoke = bot.answers.some((a) => a.text !== '') || Number(input.summary?.['botFailures'] ?? 0) > 0 || bot.requests.some((r) => r.event !== 'start' && r.event !== 'end' && !bot.answers.some((a) => a.turn === r.turn));
    if (input.binaries.length > 0 && !spoke) problem(`${input.binaries.length} binary frame(s) though the bot said nothing`);
  }

  if (conversation) checkPlayout(input, msgs, w.holds, tolerate, problem);

  // ---- whether the bot must be told the call ended (README: `end` when the caller hung up or the call failed) ----
  let botMustHearEnd: VbVerdict['botMustHearEnd'];
  const botEnded = bot.answers.some((a) => a.end);
  if (conversation && !botEnded) {
    if (w.endedBy === 'close') botMustHearEnd = { reason: 'hangup', why: 'the client closed the call' };
    else if (w.endedBy === 'violation' || w.endedBy === 'idle timeout' || w.endedBy.startsWith('bot unavailable') || w.endedBy === 'speech synthesis failed') botMustHearEnd = { reason: 'error', why: `the call failed (${w.endedBy})` };
    else if (w.endedBy === 'none' && (w.st === 'active' || w.st === 'paused' || w.st === 'dead') && (ending === 'drop' || w.st === 'dead') && !tolerate.dropNotToldToBot) {
      // The server may have ended the call itself just before the drop, in a race the client
      // cannot see (a violation, a refused update, a failed bot turn, an idle timeout): `error`
      // then. Here the bot must be told, once; the V1 property checks a clean drop's `hangup` strictly.
      botMustHearEnd = { reason: tolerate.strictDropReason ? 'hangup' : 'hangup or error', why: 'the socket went away mid-call' };
    }
  }

  // ---- every frame the server counted reached a client that stayed to the end ----
  if (conversation && input.summary && (types.includes('closed') || types.includes('disconnect')) && ending !== 'drop') {
    const sentFrames = Math.round(Number(input.summary['botAudioSeconds']) * 5);
    const got = input.binaries.length;
    // V2: frames pumped while a stopped prompt is dropped are counted, though a disconnect's state drops them.
    const tolerated = tolerate.stoppedPromptLeaks && sentFrames > got && sentFrames - got <= LEAD_FRAMES;
    if (Number.isFinite(sentFrames) && sentFrames !== got && !tolerated) problem(`the server counted ${sentFrames} bot frames sent; the client got ${got}`);
    if (tolerated) count('V2: frames counted but not sent');
  }

  return { problems, conversation, end: w.endedBy, loadTimeouts: w.loadTimeouts, botMustHearEnd };
}

/**
 * Timing checks compare the server's clock with what the client saw; this much is forgiven (a
 * frame of an earlier prompt delivered late is counted as the new prompt's).
 */
const TIMING_SLACK_MS = 250;

/**
 * The caller's side of the bot's audio, from when frames arrived (Genesys plays each from its
 * arrival: play-out ends at max(end, arrival) + 200 ms per frame), checked against three rules
 * that hold however loaded the machine is:
 * - no frame while the client is on hold once the server has certainly seen the `paused` (the
 *   pong of a ping sent after it), until the client sends `resumed`;
 * - a bot that ends the call with a prompt lets it play out (its duration plus BOT_END_MARGIN_MS)
 *   before `disconnect completed`, unless the client reported `playback_completed` meanwhile;
 * - `no_input` comes BOT_NO_INPUT_SECONDS after the prompt has played out, not earlier (unless the
 *   client reported `playback_completed`: the no-input timer then runs from its word).
 * The play-out is measured from when the bot wrote its answer (no frame of the prompt can leave
 * earlier), so a loaded machine that delivers frames late cannot make a correct server look early.
 */
function checkPlayout(input: VbInput, msgs: SMsg[], holds: Array<{ pingSeq: unknown; resumedAt: number }>, tolerate: VbTolerate, problem: (p: string) => void): void {
  const { binaries, bot, sent, sentTimes } = input;
  for (const h of holds) {
    const pong = msgs.findIndex((m) => m.type === 'pong' && m['clientseq'] === h.pingSeq);
    if (pong < 0) continue;
    const leak = binaries.filter((b) => b.afterTexts > pong && b.at < h.resumedAt);
    if (leak.length > 0) problem(`${leak.length} bot frame(s) while the client was on hold (after the pong of ping seq ${String(h.pingSeq)} sent after \`paused\`, before \`resumed\`)`);
    count('hold with a barrier');
  }
  // After `barge_in` "the rest of the prompt is dropped" (README): the next audio is the answer to the
  // turn that follows, which carries `bargeIn` — no frame may come between the event and that turn reaching the bot.
  // The k-th barge-in's turn is the k-th carrying `bargeIn` (a new barge-in needs a new prompt, which needs that turn).
  const turnsAfter = bot.requests.filter((r) => r.bargeIn !== undefined).sort((a, b) => a.turn - b.turn);
  let k = 0;
  msgs.forEach((m, i) => {
    if (m.type !== 'event' || !JSON.stringify(m.parameters).includes('"barge_in"')) return;
    const next = turnsAfter[k++]?.receivedAt ?? Number.POSITIVE_INFINITY;
    const leak = binaries.filter((b) => b.afterTexts > i && b.at < next);
    count('barge_in followed');
    if (leak.length > 0 && !tolerate.stoppedPromptLeaks) problem(`${leak.length} frame(s) of the interrupted prompt after barge_in (before the next turn reached the bot)`);
    if (leak.length > 0) count('V2: frames after barge_in');
  });
  const bargeInTimes = msgs.flatMap((m, i) => (m.type === 'event' && JSON.stringify(m.parameters).includes('"barge_in"') ? [input.textTimes[i]!] : []));
  const completedSentBefore = (t: number) => sent.some((x, i) => x.k === 'text' && sentTimes[i]! <= t && /"type":"playback_completed"/.test(x.text));
  const completedSentAfter = (t: number) => sent.some((x, i) => x.k === 'text' && sentTimes[i]! >= t && /"type":"playback_completed"/.test(x.text));
  /**
   * The earliest the server's play-out clock can end for what it sent after the bot's answer at
   * `from` (frames cannot leave before the answer was written, and each adds 200 ms to the clock),
   * counting the frames that arrived before `until`; cut at a barge-in (the prompt stops there: at
   * the earliest when its last frame before the event left, the lead ahead).
   */
  const playedOutAtLeast = (from: number, until: number) => {
    const frames = binaries.filter((b) => b.at > from && b.at < until);
    const cut = bargeInTimes.find((t) => t > from && t < until);
    if (cut === undefined) return from + frames.length * FRAME_MS;
    const before = frames.filter((b) => b.at < cut).length;
    return from + Math.max(0, before - LEAD_FRAMES) * FRAME_MS;
  };
  // The goodbye.
  const d = msgs.findIndex((m) => m.type === 'disconnect');
  const dm = msgs[d];
  if (dm && isObject(dm.parameters) && dm.parameters['reason'] === 'completed') {
    const vars = JSON.stringify(sortKeys(dm.parameters['outputVariables']));
    const answer = bot.answers.find((a) => a.end && JSON.stringify(sortKeys(a.outputVariables)) === vars);
    const arrived = input.textTimes[d]!;
    if (answer && answer.text !== '' && !completedSentAfter(answer.at)) {
      const earliest = playedOutAtLeast(answer.at, arrived) + input.endMarginMs;
      count('goodbye play-out checked');
      if (arrived < earliest - TIMING_SLACK_MS) {
        problem(`disconnect completed arrived ${earliest - arrived} ms before the bot's last prompt can have played out (its frames from the bot's answer, plus BOT_END_MARGIN_MS ${input.endMarginMs})`);
      }
    }
  }
  // No input.
  for (const r of bot.requests) {
    if (r.event !== 'no_input') continue;
    // The client's word ends a prompt at once (README): the timer may have run from it.
    if (completedSentBefore(r.receivedAt)) continue;
    const previous = bot.answers.filter((a) => a.turn < r.turn).reduce((m, a) => Math.max(m, a.at), 0);
    if (previous === 0) continue;
    // Frames of the answer to this very request can arrive within the millisecond the bot logged it: only earlier ones count.
    const earliest = playedOutAtLeast(previous, r.receivedAt - 50) + input.noInputMs;
    count('no_input timing checked');
    if (r.receivedAt < earliest - TIMING_SLACK_MS) problem(`no_input reached the bot ${earliest - r.receivedAt} ms before the prompt can have played out plus BOT_NO_INPUT_SECONDS (${input.noInputMs} ms)`);
  }
}

function seqOf(text: string): unknown {
  try {
    const v = JSON.parse(text) as unknown;
    return isObject(v) ? v['seq'] : undefined;
  } catch {
    return undefined;
  }
}

function sortKeys(v: unknown): unknown {
  return isObject(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v;
}

/** What the bot was told about a conversation: its own session, `start` first, real keys only, in the order pressed. */
function checkBotRequests(input: VbInput, problem: (p: string) => void): void {
  const { bot, sessionId, connector, sent } = input;
  const turns = new Set<number>();
  let ends = 0;
  const validKeys: string[] = [];
  for (const s of sent) {
    if (s.k !== 'text') continue;
    try {
      const v = JSON.parse(s.text) as { type?: unknown; parameters?: { digit?: unknown } };
      const d = v.parameters?.digit;
      if (v.type === 'dtmf' && typeof d === 'string' && /^[0-9*#A-D]$/.test(d)) validKeys.push(d);
    } catch {
      // not a message
    }
  }
  let k = 0;
  for (const r of [...bot.requests].sort((a, b) => a.turn - b.turn)) {
    const what = `bot request turn ${String(r.turn)} (${String(r.event)})`;
    if (r.sessionId !== sessionId) problem(`${what}: sessionId ${JSON.stringify(r.sessionId)}`);
    if (r.connectorId !== connector.id) problem(`${what}: connectorId ${JSON.stringify(r.connectorId)}, the path says ${JSON.stringify(connector.id)}`);
    if (!isInt(r.turn, 1) || turns.has(r.turn)) problem(`${what}: turn ${JSON.stringify(r.turn)} repeated or invalid`);
    turns.add(r.turn);
    if (!['start', 'utterance', 'dtmf', 'no_input', 'end'].includes(r.event)) problem(`${what}: event ${JSON.stringify(r.event)}`);
    if ((r.event === 'start') !== (r.turn === 1)) problem(`${what}: start is turn 1, and turn 1 is start`);
    if (typeof r.language !== 'string' || r.language === '') problem(`${what}: language ${JSON.stringify(r.language)}`);
    if (!isStringMap(r.inputVariables)) problem(`${what}: inputVariables ${JSON.stringify(r.inputVariables)}`);
    if (!isObject(r.caller) || !isStringMap(r.caller)) problem(`${what}: caller ${JSON.stringify(r.caller)}`);
    if (r.event === 'end') {
      ends += 1;
      if (!['hangup', 'error', 'shutdown'].includes(String(r.reason))) problem(`${what}: reason ${JSON.stringify(r.reason)}`);
    }
    if (r.event === 'utterance' && (typeof r.text !== 'string' || r.text.trim() === '')) problem(`${what}: text ${JSON.stringify(r.text)}`);
    if (r.event === 'utterance' && r.confidence !== undefined && !(typeof r.confidence === 'number' && r.confidence >= 0 && r.confidence <= 1)) problem(`${what}: confidence ${JSON.stringify(r.confidence)}`);
    if (r.event === 'dtmf') {
      if (typeof r.digits !== 'string' || !/^[0-9*#A-D]{0,64}$/.test(r.digits)) problem(`${what}: digits ${JSON.stringify(r.digits)} (only keys 0-9 * # A-D, at most 64)`);
      else {
        // The keys, in the order pressed, from those the client sent (a terminator left out).
        for (const d of r.digits) {
          while (k < validKeys.length && validKeys[k] !== d) k += 1;
          if (k === validKeys.length) {
            problem(`${what}: digits ${JSON.stringify(r.digits)} are not keys the client pressed, in order (${JSON.stringify(validKeys.join(''))})`);
            break;
          }
          k += 1;
        }
      }
    }
  }
  if (ends > 1) problem(`the bot was told the call ended ${ends} times`);
  // `start` may never arrive (aborted by an early hang-up); a caller turn before it may not.
  const first = [...bot.requests].filter((r) => r.event !== 'end').sort((a, b) => a.turn - b.turn)[0];
  if (first && first.event !== 'start') problem(`the bot's first turn was ${first.event}, not start`);
}
