/**
 * Generated hostile voice-bot (Audio Connector) clients: one session on
 * `<AUDIO_CONNECTOR_PATH>/<connector id>` each — a known connector id mostly, sometimes an
 * unknown or empty one, a weird but valid path segment, or a path that is not a connector's at
 * all — with the bot's plan for its turns, an `open` (as Audio Connector sends it: mono external
 * PCMU, mostly; or broken), then valid and hostile messages interleaved: keys (valid digits,
 * invalid ones, non-strings), playback reports at any time, pause/resume, pings, the caller's
 * audio (silence, noise, speech, full-scale bytes, wrong sizes, paced in real time or not),
 * garbage text and envelope mutations; then an ending.
 *
 * Message classes (`ok`, `shape`, `semantic`, `unauth`) mean what they mean in
 * session-arbitraries.ts; the model (voicebot-model.ts) works the rest out from the bytes sent.
 */
import fc from 'fast-check';
import { ORG_ID } from '../../server/harness.js';
import {
  ABSENT,
  bytes,
  closeMessage,
  controlMessage,
  envMut,
  field,
  GENESYS_OFFERS,
  MAX_PAYLOAD,
  NULL_UUID,
  object,
  OTHER_UUID,
  raw,
  type BadUtf8Item,
  type BytesItem,
  type Cls,
  type MsgItem,
  type RawItem,
  type TruncatedItem,
  type V,
  type WaitItem,
} from './session-arbitraries.js';
import { BOT_MOVES, type BotMove } from './voicebot-bot.js';

const SOME_UUID = '6b0f8a52-3c1e-4d7a-9e25-1f0c2b3a4d5e';
const offer = (format: string, channels: string[], rate = 8000) => ({ type: 'audio', format, channels, rate });
/** What Audio Connector offers: the caller's side alone, PCMU. */
export const AUDIO_CONNECTOR_OFFER = offer('PCMU', ['external']);

// ---- the path ------------------------------------------------------------------------------

/** Connector ids the server's BOTS names (weird but valid path segments among them). */
export const KNOWN_CONNECTORS = ['main', 'Sales.EU', 'a~b_c-d.e', '...', '~', '_-_', 'x'.repeat(128)];
/** Valid path segments BOTS does not name (case matters; no BOT_WEBHOOK_URL catches them). */
const UNKNOWN_CONNECTORS = ['nobody', 'MAIN', 'main.', 'mai', '0', 'x'.repeat(127), 'Sales.eu'];
/** What follows AUDIO_CONNECTOR_PATH on paths that are no connector's (404 at the upgrade). */
const NOT_CONNECTOR_PATHS = ['/', 'X', '/a/b', '/a%20b', `/${'x'.repeat(129)}`, '/%E2%82%AC', '/main/'];

export type PathChoice =
  | { kind: 'known' | 'unknown'; id: string; query: boolean }
  /** AUDIO_CONNECTOR_PATH itself: the empty connector id. */
  | { kind: 'empty' }
  | { kind: 'invalid'; suffix: string };

const pathChoice: fc.Arbitrary<PathChoice> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('known' as const), id: fc.constantFrom(...KNOWN_CONNECTORS, 'main', 'main', 'main'), query: fc.boolean() }), weight: 88 },
  { arbitrary: fc.record({ kind: fc.constant('unknown' as const), id: fc.constantFrom(...UNKNOWN_CONNECTORS), query: fc.boolean() }), weight: 6 },
  { arbitrary: fc.constant<PathChoice>({ kind: 'empty' }), weight: 3 },
  { arbitrary: fc.constantFrom(...NOT_CONNECTOR_PATHS).map((suffix): PathChoice => ({ kind: 'invalid', suffix })), weight: 3 },
);

/** The path (and query) of a choice under `prefix`. */
export function pathOf(p: PathChoice, prefix: string): string {
  switch (p.kind) {
    case 'known':
    case 'unknown':
      return `${prefix}/${p.id}${p.query ? '?trace=1&x' : ''}`;
    case 'empty':
      return prefix;
    case 'invalid':
      return `${prefix}${p.suffix}`;
  }
}

// ---- open ----------------------------------------------------------------------------------

function mediaField(b: number): fc.Arbitrary<V> {
  const lists = fc.oneof(
    { arbitrary: fc.constant<unknown>([AUDIO_CONNECTOR_OFFER]), weight: 40 },
    { arbitrary: fc.constant<unknown>(GENESYS_OFFERS), weight: 3 },
    { arbitrary: fc.constantFrom<unknown>([offer('L16', ['external'])], [offer('PCMU', ['external', 'internal'])], [offer('PCMU', ['internal'])], [offer('L16', ['external', 'internal'])]), weight: 3 },
    { arbitrary: fc.constant<unknown>([]), weight: 1 },
    // Offers the server cannot take: `no supported media`.
    { arbitrary: fc.constantFrom<unknown>([offer('opus', ['external'])], [offer('PCMU', ['external'], 16000)], [{ type: 'video', format: 'PCMU', channels: ['external'], rate: 8000 }]), weight: 2 },
  );
  const good = lists.map((v): V => ({ v, c: 'ok' }));
  if (b === 0) return good;
  const bad = fc.constantFrom<unknown>('PCMU', ABSENT, null, {}, 8000).map((v): V => ({ v, c: 'shape' }));
  return fc.oneof({ arbitrary: good, weight: 10 }, { arbitrary: bad, weight: b });
}

/** English (flite speaks it), mostly; other languages open fine but the bot's prompts cannot be synthesized. */
export const ENGLISH = ['en-US', 'en-US', 'en-US', 'en-GB', 'EN', 'en'];
const OTHER_LANGUAGES = ['de-DE', 'es-MX'];

/** `open` parameters as Audio Connector sends them (`b` = weight of broken fields; 0: all valid). */
export function voiceBotOpenParams(b: number): fc.Arbitrary<{ value: Record<string, unknown>; cls: Cls }> {
  // A connection probe (§9) now and then: null conversation and participant ids.
  return fc.integer({ min: 0, max: 24 }).chain((n) => {
    const probe = n === 0;
    const participant = object({
      id: field(probe ? [NULL_UUID] : ['caller-1', SOME_UUID], [[5, 'shape'], [ABSENT, 'shape']], b),
      ani: field(['tel:+15551234567', '', ABSENT], [[5, 'shape']], b),
      aniName: field(['Caller', '', ABSENT], [[null, 'shape']], b),
      dnis: field(['tel:+15557654321', '', ABSENT], [[[], 'shape']], b),
    }).map(({ value, cls }): V => ({ v: value, c: cls }));
    const participantField = b === 0 ? participant : fc.oneof({ arbitrary: participant, weight: 10 }, { arbitrary: fc.constantFrom<unknown>(ABSENT, 'caller', null).map((v): V => ({ v, c: 'shape' })), weight: b });
    return object(
      {
        organizationId: field([ORG_ID, ORG_ID, ORG_ID, ORG_ID.toUpperCase()], [[OTHER_UUID, 'unauth'], [5, 'shape'], [ABSENT, 'shape']], b),
        conversationId: field(probe ? [NULL_UUID] : [SOME_UUID, 'not-a-uuid'], [[5, 'shape'], [ABSENT, 'shape']], b),
        participant: participantField,
        media: mediaField(b),
        language: field([...ENGLISH, ...ENGLISH, ABSENT, null, '', ...OTHER_LANGUAGES], [['english', 'semantic'], ['en US', 'semantic'], [5, 'shape']], b),
        customConfig: field(
          [ABSENT, ABSENT, ABSENT, {}, null, { transcriptionVendor: 'simulated' }, { transcriptionVendor: '' }, { x_unknown: [1, { a: 'b' }] }],
          [[{ transcriptionVendor: 'acme' }, 'semantic'], [{ phrases: 'Acme' }, 'semantic'], ['{}', 'shape'], [[1, 2], 'shape']],
          b,
        ),
        inputVariables: field([{ customerTier: 'gold' }, { customerTier: 'gold' }, {}, ABSENT, null, { a: 'b', c: '' }], [[{ a: 1 }, 'shape'], ['x', 'shape']], b),
        supportedLanguages: field([ABSENT, ABSENT, ABSENT, true, false], [['yes', 'shape']], b),
      },
      fc.constantFrom({}, {}, { continuedSessions: [] }, { futureField: { nested: true } }),
    );
  });
}

function msg(type: string, params: fc.Arbitrary<{ value: Record<string, unknown>; cls: Cls }>): fc.Arbitrary<MsgItem> {
  return params.map(({ value, cls }) => ({ k: 'msg', type, params: value, cls, env: { t: 'none' } }));
}

export const voiceBotOpen = (b: number) => msg('open', voiceBotOpenParams(b));

// ---- keys and playback reports ---------------------------------------------------------------

/** Keys the server takes (the conversation also knows A–D). */
export const VALID_DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D'];
/** Strings that are not one key: ignored by the conversation, never passed to the bot. */
const INVALID_DIGITS = ['X', '', '12', 'a', 'd', ' 1', '1 ', '##', '١', '\u0000', '💥', '*#', 'x'.repeat(10_000), '9'.repeat(300)];
/** Not strings at all: the parser refuses the message. */
const NON_STRING_DIGITS: unknown[] = [5, null, [], {}, true, ABSENT, ['1']];

const dtmf: fc.Arbitrary<MsgItem> = fc.oneof(
  { arbitrary: fc.constantFrom(...VALID_DIGITS).map((digit) => ({ value: { digit }, cls: 'ok' as Cls })), weight: 14 },
  { arbitrary: fc.constantFrom(...INVALID_DIGITS).map((digit) => ({ value: { digit }, cls: 'ok' as Cls })), weight: 4 },
  { arbitrary: fc.constantFrom(...NON_STRING_DIGITS).map((digit) => ({ value: digit === ABSENT ? {} : { digit }, cls: 'shape' as Cls })), weight: 2 },
  { arbitrary: fc.constantFrom('1', '#').map((digit) => ({ value: { digit, duration: 'PT0.1S', extra: true }, cls: 'ok' as Cls })), weight: 1 },
).chain((p) => msg('dtmf', fc.constant(p)));

/** A run of keys as a caller types them (an account number, a terminator). */
const keys: fc.Arbitrary<VbItem[]> = fc
  .tuple(fc.array(fc.constantFrom(...VALID_DIGITS.slice(0, 10)), { minLength: 1, maxLength: 6 }), fc.constantFrom('#', '*', ''), fc.integer({ min: 0, max: 60 }))
  .map(([digits, end, gap]) => {
    const out: VbItem[] = [];
    for (const d of [...digits, ...(end ? [end] : [])]) {
      out.push({ k: 'msg', type: 'dtmf', params: { digit: d }, cls: 'ok', env: { t: 'none' } });
      if (gap > 0) out.push({ k: 'wait', ms: gap });
    }
    return out;
  });

const playback: fc.Arbitrary<MsgItem> = fc
  .tuple(fc.constantFrom('playback_started', 'playback_completed', 'playback_completed'), fc.constantFrom<Record<string, unknown>>({}, {}, {}, { id: 'prompt-1' }, { reason: 'end', position: 'PT1S' }))
  .map(([type, params]): MsgItem => ({ k: 'msg', type, params, cls: 'ok', env: { t: 'none' } }));

/** The voice-bot client messages plus the transcription ones (ping, paused, resumed, discarded, update, error). */
export function voiceBotMessage(b: number): fc.Arbitrary<MsgItem> {
  return fc.oneof({ arbitrary: dtmf, weight: 8 }, { arbitrary: playback, weight: 6 }, { arbitrary: controlMessage(b), weight: 8 });
}

// ---- audio ---------------------------------------------------------------------------------

/**
 * What a frame carries: µ-law (or L16) silence, noise (pseudo-random bytes), real speech (a flite
 * sample, so the VAD hears a voice and the engine an utterance), or full-scale bytes (0x00 in
 * µ-law is a loud click, not silence).
 */
export type Fill = 'silence' | 'noise' | 'speech' | 'loud';
const fill = fc.constantFrom<Fill>('silence', 'silence', 'noise', 'speech', 'speech', 'loud');

/** One frame of `samples` sample frames of the negotiated media (any count: 1 to 300 ms). */
export interface VbAudioItem {
  k: 'audio';
  samples: number;
  fill: Fill;
  seed: number;
}
/** `frames` frames of `frameMs`, paced in real time (one every frameMs), as Genesys streams. */
export interface StreamItem {
  k: 'stream';
  frames: number;
  frameMs: 20 | 100 | 200;
  fill: Fill;
  seed: number;
}

export type VbItem = MsgItem | VbAudioItem | StreamItem | BytesItem | RawItem | TruncatedItem | BadUtf8Item | WaitItem;

const audio: fc.Arbitrary<VbItem> = fc.record({
  k: fc.constant('audio' as const),
  samples: fc.oneof(fc.constantFrom(1, 160, 800, 1600, 1600), fc.integer({ min: 1, max: 2400 })),
  fill,
  seed: fc.nat(),
});

const stream: fc.Arbitrary<VbItem> = fc.record({
  k: fc.constant('stream' as const),
  frames: fc.integer({ min: 1, max: 8 }),
  frameMs: fc.constantFrom<20 | 100 | 200>(20, 100, 100, 200),
  fill,
  seed: fc.nat(),
});

const truncated: fc.Arbitrary<VbItem> = fc
  .tuple(fc.oneof(voiceBotMessage(0), voiceBotOpen(0)), fc.double({ min: 0, max: 0.999, noNaN: true }))
  .map(([of, keep]): VbItem => ({ k: 'truncated', of, keep }));

/** A valid dtmf padded around the 64 KiB text limit (and once over the 1 MiB frame cap). */
const oversized: fc.Arbitrary<VbItem> = fc
  .constantFrom(65_535, 65_536, 70_000, MAX_PAYLOAD + 100)
  .map((pad): VbItem => ({ k: 'msg', type: 'dtmf', params: { digit: '1' }, cls: 'ok', env: { t: 'none' }, pad }));

/**
 * A hold as Genesys does it: `paused`, a ping (its pong tells the client the server has taken the
 * pause), a while on hold (audio keeps coming or not), then `resumed` (or not: the call ends on hold).
 */
const hold: fc.Arbitrary<VbItem[]> = fc
  .tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 50, max: 500 }), fc.boolean(), fc.boolean())
  .map(([before, during, audioOnHold, resume]) => {
    const m = (type: string, params: Record<string, unknown> = {}): VbItem => ({ k: 'msg', type, params, cls: 'ok', env: { t: 'none' } });
    const out: VbItem[] = [{ k: 'wait', ms: before }, m('paused'), m('ping')];
    if (audioOnHold) out.push({ k: 'stream', frames: Math.max(1, Math.round(during / 100)), frameMs: 100, fill: 'silence', seed: 0 });
    else out.push({ k: 'wait', ms: during });
    if (resume) out.push(m('resumed', { start: 'PT0S', discarded: `PT${(during / 1000).toFixed(1)}S` }));
    return out;
  });

/** Items of a hostile client: anything on the wire. */
function hostileItem(): fc.Arbitrary<VbItem[]> {
  const one = (a: fc.Arbitrary<VbItem>) => a.map((x) => [x]);
  return fc.oneof(
    { arbitrary: one(voiceBotMessage(0)), weight: 24 },
    { arbitrary: keys, weight: 5 },
    { arbitrary: hold, weight: 2 },
    { arbitrary: one(voiceBotMessage(3)), weight: 4 },
    { arbitrary: one(audio), weight: 14 },
    { arbitrary: one(stream), weight: 7 },
    { arbitrary: one(fc.tuple(fc.oneof(voiceBotMessage(0), closeMessage(0), voiceBotOpen(0)), envMut).map(([m, env]): VbItem => ({ ...m, env }))), weight: 5 },
    { arbitrary: one(closeMessage(2)), weight: 3 },
    { arbitrary: one(voiceBotOpen(1)), weight: 1 },
    { arbitrary: one(bytes as fc.Arbitrary<VbItem>), weight: 4 },
    { arbitrary: one(raw as fc.Arbitrary<VbItem>), weight: 3 },
    { arbitrary: one(truncated), weight: 1 },
    { arbitrary: one(oversized), weight: 1 },
    { arbitrary: one(fc.constant<VbItem>({ k: 'utf8' })), weight: 1 },
    { arbitrary: one(fc.integer({ min: 0, max: 40 }).map((ms): VbItem => ({ k: 'wait', ms }))), weight: 6 },
    // Long enough for the bot to answer, a prompt to start, a key timeout to pass.
    { arbitrary: one(fc.integer({ min: 100, max: 400 }).map((ms): VbItem => ({ k: 'wait', ms }))), weight: 3 },
  );
}

/**
 * Items of a client that breaks no rule (invalid digits are still sent: they are valid messages),
 * so that the conversation runs long enough for turns, barge-in, keys and no-input to happen.
 */
function cleanItem(): fc.Arbitrary<VbItem[]> {
  const one = (a: fc.Arbitrary<VbItem>) => a.map((x) => [x]);
  return fc.oneof(
    { arbitrary: hold, weight: 3 },
    { arbitrary: one(voiceBotMessage(0)), weight: 16 },
    { arbitrary: keys, weight: 8 },
    { arbitrary: one(audio), weight: 8 },
    { arbitrary: one(stream), weight: 14 },
    { arbitrary: one(closeMessage(0)), weight: 1 },
    { arbitrary: one(fc.integer({ min: 0, max: 40 }).map((ms): VbItem => ({ k: 'wait', ms }))), weight: 4 },
    { arbitrary: one(fc.integer({ min: 100, max: 400 }).map((ms): VbItem => ({ k: 'wait', ms }))), weight: 5 },
  );
}

// ---- the case ------------------------------------------------------------------------------

/**
 * - `close`, `polite`, `drop`, `silent`: as in session-arbitraries;
 * - `converse`: like Genesys for up to `converseMs`: caller silence in real time, playback
 *   reports for the bot's audio, until the server disconnects (answered with close) or the time is
 *   up (then close).
 */
export type VbEnding = 'close' | 'polite' | 'drop' | 'silent' | 'converse';

export interface VoiceBotCase {
  path: PathChoice;
  /** The bot's answer at each turn (turn 1 is `start`). */
  plan: BotMove[];
  items: VbItem[];
  ending: VbEnding;
  dropAfterMs: number;
  converseMs: number;
  /** `converse`: whether the client reports playback (Genesys does). */
  playbackReports: boolean;
  hangUp: 'close' | 'terminate';
}

const move: fc.Arbitrary<BotMove> = fc.oneof(
  { arbitrary: fc.constantFrom<BotMove>('greet', 'greet', 'greet', 'fresh', 'long', 'two', 'digits', 'digitsStar', 'noBarge'), weight: 12 },
  { arbitrary: fc.constantFrom<BotMove>('end', 'endQuiet'), weight: 3 },
  { arbitrary: fc.constantFrom<BotMove>('quiet', 'blank', 'empty'), weight: 2 },
  { arbitrary: fc.constantFrom<BotMove>('slow', 'fail', 'bad'), weight: 2 },
  { arbitrary: fc.constantFrom(...BOT_MOVES), weight: 1 },
);

export const VB_ENDINGS_FAST: readonly VbEnding[] = ['close', 'polite', 'drop', 'converse'];

export function voiceBotCase(endings: readonly VbEnding[] = VB_ENDINGS_FAST): fc.Arbitrary<VoiceBotCase> {
  const first = fc.oneof(
    { arbitrary: voiceBotOpen(0).map((m): VbItem[] => [m]), weight: 80 },
    { arbitrary: voiceBotOpen(2).map((m): VbItem[] => [m]), weight: 14 },
    { arbitrary: fc.constant<VbItem[]>([]), weight: 6 },
  );
  const weights: Record<VbEnding, number> = { close: 40, polite: 12, drop: 14, converse: 34, silent: 10 };
  return fc.record({
    path: pathChoice,
    plan: fc.array(move, { minLength: 1, maxLength: 6 }),
    items: fc
      .tuple(first, fc.oneof({ arbitrary: fc.array(hostileItem(), { maxLength: 12 }), weight: 55 }, { arbitrary: fc.array(cleanItem(), { maxLength: 12 }), weight: 45 }))
      .map(([a, b]) => [...a, ...b.flat()]),
    ending: fc.oneof(...endings.map((e) => ({ arbitrary: fc.constant(e), weight: weights[e] }))),
    dropAfterMs: fc.constantFrom(0, 0, 1, 5, 50),
    converseMs: fc.integer({ min: 600, max: 2500 }),
    playbackReports: fc.boolean(),
    hangUp: fc.constantFrom('close' as const, 'terminate' as const),
  });
}
