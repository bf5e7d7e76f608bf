/**
 * The oracle: what a protocol-correct server answers to what the client put on the wire.
 *
 * It replays the frames the client sent through a model of the session (protocol §2–§6 and the
 * README's "How it behaves") and walks the server's control messages alongside (events are
 * checked separately: they are asynchronous). Where timing makes the answer legitimately vary —
 * how far a `close` flush has got when later frames arrive, an idle or open timeout under load,
 * a socket the client dropped — it accepts every correct outcome and nothing else.
 *
 * Nothing here comes from the server's code: envelope rules, media choice and language support
 * are re-stated from the protocol reference, so a server that drifts from it is caught.
 */
import { MAX_PAYLOAD, NULL_UUID, type Cls, type Ending } from './session-arbitraries.js';
import { NARROW_LANGUAGES } from './server.js';

export const MAX_TEXT = 65_535;

/** What the walks went through, by label (FUZZ_COVERAGE=1 prints it): proof the generator reaches each path. */
export const COVERAGE = new Map<string, number>();
const cover = (label: string) => void COVERAGE.set(label, (COVERAGE.get(label) ?? 0) + 1);
const CLIENT_TYPES = ['open', 'ping', 'close', 'paused', 'resumed', 'discarded', 'update', 'error', 'dtmf', 'playback_started', 'playback_completed'];
const SERVER_TYPES = ['opened', 'pong', 'closed', 'pause', 'resume', 'disconnect', 'event', 'reconnect', 'updated'];

/** What the client put on the wire, in order. */
export type Sent =
  | { k: 'text'; text: string; bytes: number; cls: Cls; what: string }
  | { k: 'utf8' }
  | { k: 'bin'; size: number };

/**
 * Known server defects the model tolerates in the main property (each has its own focused
 * property, expected to fail until it is fixed). Set a flag to false once its defect is fixed.
 */
export interface Tolerate {
  /** D2: a non-empty offer list with no well-formed offer is answered `opened` with media [] (should be `disconnect` "no supported media"). */
  malformedOffersOpenWithoutMedia: boolean;
  /** D3: an `update` to a language the engine serves makes a connection probe open engine streams. */
  probeStartsStreamsOnUpdate: boolean;
  /** D4: `resume` sent after the client's `close` (an `update` that un-holds recognition while closing). */
  resumeWhileClosing: boolean;
}
export const STRICT: Tolerate = { malformedOffersOpenWithoutMedia: false, probeStartsStreamsOnUpdate: false, resumeWhileClosing: false };

export interface Verdict {
  problems: string[];
  /** Model state at the end. */
  state: State;
  /** The server accepted an open that was a connection probe (§9): no engine stream may open. */
  probe: boolean;
  /** The model, tolerating D3, expects this probe to have opened streams. */
  probeStreamsTolerated: boolean;
  /** Idle/open timeouts the server took while the client was still talking (allowed, counted). */
  spontaneous: number;
}

type State = 'awaiting' | 'active' | 'paused' | 'closing' | 'disc' | 'ended' | 'dead';
type SMsg = Record<string, unknown> & { type?: unknown; parameters?: unknown };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min: number) => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
const NUM = '(\\d+(?:[.,]\\d+)?)';
const DURATION = new RegExp(`^P(?:${NUM}W)?(?:${NUM}D)?(?:T(?:${NUM}H)?(?:${NUM}M)?(?:${NUM}S)?)?$`, 'i');
/** §2: what a server writes: `PT<seconds>S` only, no minutes, hours or exponents. */
const SERVER_DURATION = /^PT\d+(\.\d+)?S$/;
/** §2: Durations are read leniently (full ISO-8601 day-time form). */
export function isDuration(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  const t = v.trim();
  return DURATION.test(t) && !/^PT?$/i.test(t) && !/T$/i.test(t);
}

/** §5: the offer to pick — first stereo PCMU, mono PCMU, stereo L16, mono L16. */
export function chooseOffer(media: unknown): { offer: Record<string, unknown>; unit: number; channels: number } | undefined {
  if (!Array.isArray(media)) return undefined;
  const usable = media.filter(
    (o): o is Record<string, unknown> =>
      isObject(o) &&
      o['type'] === 'audio' &&
      o['rate'] === 8000 &&
      (o['format'] === 'PCMU' || o['format'] === 'L16') &&
      Array.isArray(o['channels']) &&
      o['channels'].length >= 1 &&
      o['channels'].length <= 2 &&
      o['channels'].every((c) => c === 'external' || c === 'internal') &&
      new Set(o['channels']).size === o['channels'].length,
  );
  for (const [format, n] of [['PCMU', 2], ['PCMU', 1], ['L16', 2], ['L16', 1]] as const) {
    const hit = usable.find((o) => o['format'] === format && (o['channels'] as unknown[]).length === n);
    if (hit) return { offer: hit, unit: (format === 'PCMU' ? 1 : 2) * n, channels: n };
  }
  return undefined;
}

/** An offer the server's parser would even look at (its shape, not whether it can be served). */
function wellFormedOffer(o: unknown): boolean {
  return isObject(o) && o['type'] === 'audio' && typeof o['format'] === 'string' && typeof o['rate'] === 'number' && Array.isArray(o['channels']) && o['channels'].every((c) => c === 'external' || c === 'internal');
}

/** Whether an engine recognizes a (valid) language tag: `narrow` knows any English and es-ES. */
export function supports(engine: string, tag: string): boolean {
  if (engine !== 'narrow') return true;
  const t = tag.trim().replace(/_/g, '-').toLowerCase();
  return NARROW_LANGUAGES.some((l) => {
    const known = l.toLowerCase();
    return known === t || (!known.includes('-') && known === t.split('-')[0]);
  });
}

/** Why the server's parser must refuse this text frame, or undefined when it parses. */
export function parseFailure(text: string, cls: Cls): { fail: RegExp } | { msg: Record<string, unknown> } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { fail: /invalid JSON/ };
  }
  if (!isObject(v)) return { fail: /not an object/ };
  if (v['version'] !== '2') return { fail: /unsupported version/ };
  if (typeof v['type'] !== 'string') return { fail: v['type'] === undefined ? /missing type/ : /invalid type/ };
  if (!CLIENT_TYPES.includes(v['type'])) return { fail: /unknown message type/ };
  const fields: Array<[string, boolean]> = [
    ['id', typeof v['id'] === 'string'],
    ['seq', isInt(v['seq'], 1)],
    ['serverseq', isInt(v['serverseq'], 0)],
    ['position', v['position'] === undefined || typeof v['position'] === 'string'],
  ];
  for (const [f, ok] of fields) if (!ok) return { fail: new RegExp(`${v[f] === undefined ? 'missing' : 'invalid'} ${f}`) };
  if (!isObject(v['parameters'])) return { fail: v['parameters'] === undefined ? /missing parameters/ : /parameters must be an object/ };
  if (v['position'] !== undefined && !isDuration(v['position'])) return { fail: /invalid position/ };
  if (cls === 'shape') return { fail: new RegExp(`invalid ${v['type']} parameters`) };
  return { msg: v };
}

function short(m: SMsg | undefined): string {
  if (!m) return 'nothing';
  const p = JSON.stringify(m['parameters']) ?? '';
  return `${String(m['type'])}#${String(m['seq'])}(clientseq ${String(m['clientseq'])}) ${p.length > 160 ? `${p.slice(0, 160)}…` : p}`;
}

export function checkSession(
  input: { sessionId: string; sent: Sent[]; texts: string[]; closedByServer: boolean; ending: Ending },
  tolerate: Tolerate,
): Verdict {
  const { sessionId, sent, texts, closedByServer, ending } = input;
  const problems: string[] = [];
  const problem = (p: string) => void problems.push(p);

  // ---- every server message, whatever happened (§2) ----
  const { msgs, types, openedAt, endAt } = checkServerMessages(sessionId, sent, texts, problem, (p) => {
    if (typeof p['info'] !== 'string' || p['info'].length === 0 || p['info'].length > 200) problem(`disconnect info ${JSON.stringify(p['info'])} (short text expected)`);
  });
  let events = 0;
  msgs.forEach((m, i) => {
    if (m.type !== 'event') return;
    events += 1;
    if (openedAt < 0 || i < openedAt) problem(`event (message ${i + 1}) before opened`);
    if (endAt >= 0 && i > endAt) problem(`event (message ${i + 1}) after ${types[endAt]}`);
    const entity = isObject(m.parameters) && Array.isArray(m.parameters['entities']) ? (m.parameters['entities'][0] as unknown) : undefined;
    const data = isObject(entity) && entity['type'] === 'transcript' && isObject(entity['data']) ? entity['data'] : undefined;
    if (!data || typeof data['isFinal'] !== 'boolean' || !isInt(data['channelId'], 0) || !SERVER_DURATION.test(String(data['offset'])) || !SERVER_DURATION.test(String(data['duration']))) {
      problem(`event (message ${i + 1}) is not a transcript entity: ${JSON.stringify(m.parameters).slice(0, 200)}`);
    }
  });

  // ---- the session model, walked against the control messages ----
  const ctrl = msgs.filter((m) => m.type !== 'event');
  const info = (m: SMsg) => (isObject(m.parameters) ? String(m.parameters['info']) : '');

  /**
   * One walk. An idle or open timeout may have fired anywhere among the client's frames (a
   * frame that has no answer gives no clue where): `spontAt` is the frame before which this
   * walk takes it (-1: only once the client stopped sending).
   */
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
    let probeStreamsTolerated = false;
    let unit: number | null = null;
    let channels = 0;
    let engine = 'simulated';
    let lang = 'en-US';
    let held = false;
    let pauseRequested = false;
    let channelsStarted = false;
    let spontaneous = 0;

    const take = (type: string, why: string, check?: (m: SMsg) => string | undefined): boolean => {
      if (halted) return false;
      const m = ctrl[pos];
      cover(`answer ${type} in ${st}`);
      if (!m) {
        halted = true;
        // A dropped socket may cut the server off anywhere.
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
      if (closing) {
        // The client's close already waits: `closed` follows at once (§2).
        take('closed', 'the pending close, after the disconnect');
        st = 'ended';
      } else st = 'disc';
    };
    const requestPause = () => {
      if (st !== 'active' || pauseRequested) return;
      pauseRequested = true;
      take('pause', 'recognition held: the engine does not serve the language');
    };

    /** What may legitimately have happened before the server got to the next frame. */
    const preStep = (index: number) => {
      if (halted) return;
      const m = ctrl[pos];
      if (!m) return;
      if (st === 'closing' && m.type === 'closed') {
        pos += 1;
        st = 'ended';
        return;
      }
      if (index === spontAt && (st === 'awaiting' || st === 'active' || st === 'paused') && m.type === 'disconnect') {
        const i = info(m);
        const ok = i === 'idle timeout' || (st === 'awaiting' && i === 'no open received');
        if (!ok) return;
        if (isObject(m.parameters) && m.parameters['reason'] !== 'error') problem(`${i}: reason ${String(m.parameters['reason'])}`);
        pos += 1;
        st = 'disc';
        spontaneous += 1;
        cover(`spontaneous ${i}`);
      }
    };

    const onOpen = (v: Record<string, unknown>, cls: Cls) => {
      const p = v['parameters'] as Record<string, unknown>;
      if (cls === 'shape') return void (take('disconnect', 'open with malformed parameters', disconnectCheck('error', /invalid open parameters/)) && (st = 'disc'));
      if (cls === 'unauth') return void (take('disconnect', 'open for another organization', disconnectCheck('unauthorized', /organizationId/)) && (st = 'disc'));
      if (cls === 'semantic') return void (take('disconnect', 'open with a bad customConfig/language/vendor', disconnectCheck('error', /./)) && (st = 'disc'));
      const media = Array.isArray(p['media']) ? p['media'] : [];
      const chosen = chooseOffer(media);
      const refuse = media.length > 0 && !chosen && (!tolerate.malformedOffersOpenWithoutMedia || media.some(wellFormedOffer));
      if (refuse) return void (take('disconnect', 'open offering no usable media (§5)', disconnectCheck('error', /no supported media/)) && (st = 'disc'));
      const participant = p['participant'] as Record<string, unknown>;
      probe = p['conversationId'] === NULL_UUID && participant['id'] === NULL_UUID;
      const cc = isObject(p['customConfig']) ? p['customConfig'] : {};
      const vendor = typeof cc['transcriptionVendor'] === 'string' ? cc['transcriptionVendor'].trim().toLowerCase() : '';
      engine = vendor === '' ? 'simulated' : vendor;
      lang = typeof p['language'] === 'string' && p['language'] !== '' ? p['language'] : 'en-US';
      held = !supports(engine, lang);
      const startPaused = !probe && chosen !== undefined && held;
      take('opened', 'answer to open', (m) => {
        const o = isObject(m.parameters) ? m.parameters : {};
        const wrong: string[] = [];
        if (m['clientseq'] !== v['seq']) wrong.push(`clientseq ${JSON.stringify(m['clientseq'])} (open was ${JSON.stringify(v['seq'])})`);
        const expected = JSON.stringify(chosen ? [chosen.offer] : []);
        if (JSON.stringify(o['media']) !== expected) wrong.push(`media ${JSON.stringify(o['media'])}, expected ${expected} (the first stereo PCMU offer, unchanged; §5)`);
        if (o['startPaused'] !== startPaused) wrong.push(`startPaused ${JSON.stringify(o['startPaused'])}, expected ${startPaused}`);
        const langs = o['supportedLanguages'];
        if (p['supportedLanguages'] === true) {
          if (!Array.isArray(langs) || langs.length === 0 || !langs.every((l) => typeof l === 'string' && l !== '')) wrong.push(`supportedLanguages ${JSON.stringify(langs)}`);
        } else if (langs !== undefined) wrong.push('supportedLanguages sent but not asked for');
        return wrong.length > 0 ? wrong.join('; ') : undefined;
      });
      st = startPaused ? 'paused' : 'active';
      pauseRequested = startPaused;
      unit = chosen ? chosen.unit : null;
      channels = chosen ? chosen.channels : 0;
      channelsStarted = !probe && chosen !== undefined && !held;
    };

    const onUpdate = (tag: string) => {
      lang = tag;
      if (!supports(engine, lang)) {
        if (held) return;
        held = true;
        requestPause();
        return;
      }
      if (!held) return;
      held = false;
      if (!channelsStarted) {
        channelsStarted = true;
        if (probe && unit !== null) {
          if (tolerate.probeStartsStreamsOnUpdate) probeStreamsTolerated = true;
        }
      }
      if (pauseRequested) {
        pauseRequested = false;
        if (st === 'closing' && !tolerate.resumeWhileClosing) return; // nothing may ask the client to stream after its close
        take('resume', 'the engine serves the new language');
      }
    };

    const dispatch = (v: Record<string, unknown>, cls: Cls) => {
      const type = String(v['type']);
      const what = `${type} seq ${String(v['seq'])}`;
      if (st === 'awaiting') {
        if (type === 'close') {
          take('closed', 'close before open', clientseqIs(v['seq']));
          st = 'ended';
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
          take('pong', what, clientseqIs(v['seq']));
          return;
        case 'close':
          if (st !== 'closing') st = 'closing';
          return;
        case 'paused':
          if (st === 'active') st = 'paused';
          return;
        case 'resumed':
          if (st === 'closing') return; // the call is over: ignored
          if (st === 'paused') st = 'active';
          if (held) requestPause();
          return;
        case 'update': {
          if (st === 'closing') return; // the call is over: a language change would only start what is being wound down
          if (cls === 'semantic') return violation(/update\.language/, `${what}: language ${JSON.stringify(p['language'])}`);
          if (probe) return; // a probe recognizes nothing: no streams, no pause or resume for its language
          const value = p['language'];
          return onUpdate(typeof value === 'string' && value !== '' ? value : lang); // no language: the current one
        }
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
        // After a disconnect only the client's close matters, whatever its seq or id (§2).
        if ('msg' in head && head.msg['type'] === 'close') {
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
          if (probe) return; // probes take no audio: dropped
          if (unit === null) return violation(/no media was selected/, `${size}-byte frame, no media`);
          if (size === 0) return violation(/empty audio frame/, '0-byte frame');
          if (size % unit !== 0) return violation(/not a whole number/, `${size}-byte frame, ${unit} bytes per sample frame`);
          return;
        default:
          return; // paused (may race `paused`), closing, disconnecting: dropped quietly
      }
    };

    for (const [index, s] of sent.entries()) {
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
        // Only a client that stays silent leaves the session here: the server must time it out.
        if (take('disconnect', 'open or idle timeout of a silent client', disconnectCheck('error', /^(idle timeout|no open received)$/))) st = 'disc';
      }
      if (!halted) {
        if (st === 'disc' && ending !== 'silent') problem('the close after disconnect was never answered with closed');
        if (st === 'disc' && ending === 'silent' && !closedByServer) problem('a client that never answers disconnect was not cut off');
        if (st === 'dead' && !closedByServer) problem('the server kept a connection that sent an oversized or non-UTF-8 frame');
        if (closedByServer && st !== 'dead' && st !== 'disc' && st !== 'ended') problem(`the server closed the socket in state ${st}`);
      }
    }
    cover(`end state ${st} (${ending})`);
    if (events > 0) cover('sessions with events');
    if (!halted && pos < ctrl.length) problem(`unexpected messages: ${ctrl.slice(pos).map(short).join(' | ')}`);
    if (openedAt >= 0 && (probe || unit === null) && events > 0) problem(`${events} transcript events in a session without audio (probe or no media)`);
    for (const m of msgs) {
      if (m.type !== 'event' || channels === 0) continue;
      const entity = isObject(m.parameters) && Array.isArray(m.parameters['entities']) ? (m.parameters['entities'][0] as unknown) : undefined;
      const id = isObject(entity) && isObject(entity['data']) ? entity['data']['channelId'] : undefined;
      if (typeof id === 'number' && id >= channels) problem(`event on channel ${id}; the media has ${channels} channel(s)`);
    }
    return { problems: wp, st, probe: openedAt >= 0 && probe, probeStreamsTolerated, spontaneous, covered, pos };
  };

  const spontaneousTimeout = ctrl.some((m) => m.type === 'disconnect' && /^(idle timeout|no open received)$/.test(info(m)));
  const candidates = spontaneousTimeout ? [...sent.keys(), -1] : [-1];
  // Every placement that explains what the server sent is a correct run; the first one is reported,
  // and a tolerated defect counts if any of them tolerates it.
  const walks = candidates.map(walk);
  const valid = walks.filter((x) => x.problems.length === 0);
  const w = valid[0] ?? walks.reduce((a, b) => (b.pos > a.pos ? b : a));
  const probeStreamsTolerated = valid.some((x) => x.probeStreamsTolerated);
  for (const label of w.covered) cover(label);
  problems.push(...w.problems);

  return { problems, state: w.st, probe: w.probe, probeStreamsTolerated, spontaneous: w.spontaneous };
}

/**
 * §2 for every server message, whatever happened: JSON objects, version, id, seq +1 from 1, a
 * known type, parameters, clientseq a seq the client sent, no client-only fields; `closed` last,
 * only `closed` after one `disconnect`, `opened` first and once. `checkDisconnect` judges a
 * disconnect's parameters (transcription and voice-bot sessions differ there).
 */
export function checkServerMessages(
  sessionId: string,
  sent: readonly Sent[],
  texts: readonly string[],
  problem: (p: string) => void,
  checkDisconnect: (parameters: Record<string, unknown>) => void,
) {
  const sentSeqs = new Set<number>([0]);
  for (const s of sent) {
    if (s.k !== 'text') continue;
    try {
      const v = JSON.parse(s.text) as unknown;
      if (isObject(v) && isInt(v['seq'], 1)) sentSeqs.add(v['seq'] as number);
    } catch {
      // not JSON: no seq
    }
  }
  const msgs: SMsg[] = texts.map((t, i) => {
    let m: unknown;
    try {
      m = JSON.parse(t);
    } catch {
      problem(`server message ${i + 1} is not JSON: ${t.slice(0, 100)}`);
      return {};
    }
    if (!isObject(m)) {
      problem(`server message ${i + 1} is not an object`);
      return {};
    }
    if (t.length > MAX_TEXT) problem(`server message ${i + 1} is ${t.length} characters (limit ${MAX_TEXT})`);
    if (m['version'] !== '2') problem(`server message ${i + 1}: version ${JSON.stringify(m['version'])}`);
    if (m['id'] !== sessionId) problem(`server message ${i + 1}: id ${JSON.stringify(m['id'])}`);
    if (m['seq'] !== i + 1) problem(`server message ${i + 1}: seq ${JSON.stringify(m['seq'])} (must be ${i + 1}: +1 from 1, no gaps)`);
    if (!SERVER_TYPES.includes(String(m['type']))) problem(`server message ${i + 1}: type ${JSON.stringify(m['type'])}`);
    if (!isObject(m['parameters'])) problem(`server message ${i + 1}: parameters ${JSON.stringify(m['parameters'])}`);
    if ('position' in m || 'serverseq' in m) problem(`server message ${i + 1} carries client-only fields`);
    if (!isInt(m['clientseq'], 0) || !sentSeqs.has(m['clientseq'] as number)) {
      problem(`server message ${i + 1} (${String(m['type'])}): clientseq ${JSON.stringify(m['clientseq'])} is not a seq the client sent`);
    }
    if (m['type'] === 'disconnect') {
      const p = isObject(m['parameters']) ? m['parameters'] : {};
      if (!['completed', 'unauthorized', 'error'].includes(String(p['reason']))) problem(`disconnect reason ${JSON.stringify(p['reason'])}`);
      checkDisconnect(p);
    }
    return m as SMsg;
  });
  const types = msgs.map((m) => String(m.type));
  const closedAt = types.indexOf('closed');
  if (closedAt >= 0 && closedAt < types.length - 1) problem(`messages after closed: ${types.slice(closedAt + 1).join(', ')}`);
  const disc = types.indexOf('disconnect');
  if (disc >= 0 && types.slice(disc + 1).some((t) => t !== 'closed')) problem(`after disconnect only closed may follow; got ${types.slice(disc + 1).join(', ')}`);
  if (types.filter((t) => t === 'disconnect').length > 1) problem('more than one disconnect');
  if (types.filter((t) => t === 'opened').length > 1 || (types.includes('opened') && types[0] !== 'opened')) problem(`opened must be the first message, once: ${types.join(', ')}`);
  if (types.length > 0 && !['opened', 'disconnect', 'closed'].includes(types[0]!)) problem(`first server message is ${types[0]}`);
  const openedAt = types.indexOf('opened');
  const endAt = types.findIndex((t) => t === 'disconnect' || t === 'closed');
  return { msgs, types, disc, openedAt, endAt };
}
