/**
 * Generated client behaviour for one AudioHook session, built from the real message shapes
 * (protocol §2, §3): an `open` (valid, or with junk in any parameter), then valid control
 * messages and audio interleaved with mutations — envelope fields wrong or missing, seq gaps,
 * duplicates and reordering, serverseq ahead, wrong JSON types, truncated JSON, non-JSON text,
 * oversized text, invalid UTF-8, binary frames of any size (0 bytes, odd sizes, over the frame
 * cap) — then an ending (close, answer the server, drop the socket, or go silent).
 *
 * Each generated message carries the class of its parameters as the generator knows it
 * (`ok`, `shape`: fails the parser, `semantic`: parses but must be refused, `unauth`: the
 * organization differs); the model (session-model.ts) works out the rest from the bytes sent.
 */
import fc from 'fast-check';
import { ORG_ID } from '../../server/harness.js';

export const NULL_UUID = '00000000-0000-0000-0000-000000000000';
export const OTHER_UUID = '11111111-2222-3333-4444-555555555555';
const SOME_UUID = 'a3f1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b';
/** A key to leave out of the object it would be in. */
export const ABSENT: { readonly absent: true } = Object.freeze({ absent: true });

export type Cls = 'ok' | 'shape' | 'semantic' | 'unauth';
const RANK: Record<Cls, number> = { ok: 0, semantic: 1, unauth: 2, shape: 3 };
/** The class of a whole message from its parts: a parse failure first, then the organization, then the rest. */
export function worst(classes: Cls[]): Cls {
  return classes.reduce<Cls>((a, b) => (RANK[b] > RANK[a] ? b : a), 'ok');
}

export interface V {
  v: unknown;
  c: Cls;
}

/** Mostly a good value; sometimes a bad one of the given class. */
export function field(goods: readonly unknown[], bads: ReadonlyArray<readonly [unknown, Cls]>, badWeight: number): fc.Arbitrary<V> {
  const good = fc.constantFrom(...goods).map((v): V => ({ v, c: 'ok' }));
  if (bads.length === 0 || badWeight === 0) return good;
  const bad = fc.constantFrom(...bads).map(([v, c]): V => ({ v, c }));
  return fc.oneof({ arbitrary: good, weight: 10 }, { arbitrary: bad, weight: badWeight });
}

/** An object from fields, leaving out the ABSENT ones; its class is the worst of theirs. */
export function object(fields: Record<string, fc.Arbitrary<V>>, extra?: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<{ value: Record<string, unknown>; cls: Cls }> {
  return fc.tuple(fc.record(fields), extra ?? fc.constant({})).map(([r, more]) => {
    const value: Record<string, unknown> = { ...more };
    const classes: Cls[] = [];
    for (const [k, f] of Object.entries(r)) {
      if (f.v !== ABSENT) value[k] = f.v;
      classes.push(f.c);
    }
    return { value, cls: worst(classes) };
  });
}

// ---- media offers (§5) ----------------------------------------------------------------------

const offer = (format: string, channels: string[], rate = 8000) => ({ type: 'audio', format, channels, rate });
export const GENESYS_OFFERS = [offer('PCMU', ['external', 'internal']), offer('PCMU', ['external']), offer('PCMU', ['internal'])];
const SUPPORTED_OFFERS = [
  offer('PCMU', ['external', 'internal']),
  offer('PCMU', ['internal', 'external']),
  offer('PCMU', ['external']),
  offer('PCMU', ['internal']),
  offer('L16', ['external', 'internal']),
  offer('L16', ['internal']),
];
/** Well-formed offers the server cannot take. */
const UNSUPPORTED_OFFERS = [
  offer('PCMU', ['external'], 16000),
  offer('opus', ['external']),
  offer('pcmu', ['external']),
  offer('PCMU', []),
  offer('PCMU', ['external', 'external']),
  offer('PCMU', ['external', 'internal', 'external']),
];
/** Offers that are not even offers. */
const MALFORMED_OFFERS: unknown[] = [
  { type: 'video', format: 'PCMU', channels: ['external'], rate: 8000 },
  { type: 'audio', format: 'PCMU', channels: ['left'], rate: 8000 },
  { type: 'audio', format: 'PCMU', channels: ['external'], rate: '8000' },
  { type: 'audio', format: 7, channels: ['external'], rate: 8000 },
  { type: 'audio', format: 'PCMU', rate: 8000 },
  null,
  'PCMU',
  42,
  {},
];

const offerArb: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constantFrom(...SUPPORTED_OFFERS), weight: 6 },
  { arbitrary: fc.constantFrom(...UNSUPPORTED_OFFERS), weight: 2 },
  { arbitrary: fc.constantFrom(...MALFORMED_OFFERS), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('audio'), format: fc.constant('PCMU'), channels: fc.constant(['external']), rate: fc.constant(8000), x: fc.jsonValue({ maxDepth: 1 }) }), weight: 1 },
);

/** Offers as Genesys sends them, most of the time; any list (the model decides) otherwise. */
function mediaField(badWeight: number): fc.Arbitrary<V> {
  const lists = fc.oneof(
    { arbitrary: fc.constant(GENESYS_OFFERS), weight: 8 },
    { arbitrary: fc.array(offerArb, { maxLength: 4 }), weight: badWeight > 0 ? 4 : 0 },
    { arbitrary: fc.array(fc.constantFrom(...SUPPORTED_OFFERS), { minLength: 1, maxLength: 3 }), weight: 2 },
  );
  const good = lists.map((v): V => ({ v, c: 'ok' }));
  if (badWeight === 0) return good;
  const bad = fc.constantFrom<unknown>('PCMU', ABSENT, null, {}, 8000).map((v): V => ({ v, c: 'shape' }));
  return fc.oneof({ arbitrary: good, weight: 10 }, { arbitrary: bad, weight: badWeight });
}

// ---- languages ------------------------------------------------------------------------------

/** Tags the server must take (supported by `narrow` or not: see supportedBy in the model). */
export const GOOD_TAGS = ['en-US', 'en-gb', 'EN', 'es-ES', 'es-es', 'es-MX', 'de-DE', 'fr_FR', 'cmn-hans-cn', 'eu-ES'];
const NOT_TAGS: Array<readonly [unknown, Cls]> = [
  ['english', 'semantic'],
  ['en US', 'semantic'],
  ['und', 'semantic'],
  ['x', 'semantic'],
  ['12-34', 'semantic'],
];

// ---- open (§3.1) ----------------------------------------------------------------------------

/** `open` parameters; `badWeight` 0 gives only valid ones (the media list may still be refused). */
export function openParams(badWeight: number): fc.Arbitrary<{ value: Record<string, unknown>; cls: Cls }> {
  const b = badWeight;
  const participant = object(
    {
      id: field([SOME_UUID, NULL_UUID, 'participant-1'], [[5, 'shape'], [ABSENT, 'shape']], b),
      ani: field(['+15551234567', '', ABSENT], [[5, 'shape']], b),
      aniName: field(['Caller', '', ABSENT], [[null, 'shape']], b),
      dnis: field(['+15557654321', '', ABSENT], [[[], 'shape']], b),
    },
    fc.constantFrom({}, { extra: 'tolerated' }),
  ).map(({ value, cls }): V => ({ v: value, c: cls }));
  const participantField =
    b === 0 ? participant : fc.oneof({ arbitrary: participant, weight: 10 }, { arbitrary: fc.constantFrom<unknown>(ABSENT, 'caller', null, 7).map((v): V => ({ v, c: 'shape' })), weight: b });

  const customConfig = object(
    {
      transcriptionVendor: field(['simulated', 'narrow', 'narrow', 'narrow', 'NARROW', ' Simulated ', '', null, ABSENT, ABSENT, ABSENT], [['acme', 'semantic'], ['google', 'semantic'], [5, 'semantic'], [['simulated'], 'semantic']], b),
      interimResults: field([true, false, ABSENT, 'yes', 1], [], 0),
      phrases: field(
        [ABSENT, null, [], ['Acme Premium', '  spaced   out  '], ['', '   '], ['x'.repeat(100)]],
        [['Acme', 'semantic'], [[1], 'semantic'], [Array.from({ length: 501 }, (_, i) => `p${i}`), 'semantic'], [['x'.repeat(101)], 'semantic']],
        b,
      ),
      enableTranslation: field([ABSENT, null, false, 'false', ' FALSE '], [[true, 'semantic'], ['true', 'semantic'], ['yes', 'semantic'], [1, 'semantic']], b),
      glossary: field([ABSENT, null, {}, { Acme: 'Acme' }], [[[], 'semantic'], ['x', 'semantic'], [{ a: 1 }, 'semantic'], [{ '': 'x' }, 'semantic'], [{ ' ': 'x' }, 'semantic']], b),
      inputLanguage: field([ABSENT, null, '', 'eu-ES', 'en-US'], [...NOT_TAGS, [5, 'semantic']], b),
    },
    fc.dictionary(fc.string({ maxLength: 8 }).map((k) => `x_${k}`), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  ).map(({ value, cls }): V => ({ v: value, c: cls }));
  const customConfigField =
    b === 0
      ? fc.oneof(customConfig, fc.constantFrom<unknown>(ABSENT, null).map((v): V => ({ v, c: 'ok' })))
      : fc.oneof(
          { arbitrary: customConfig, weight: 10 },
          { arbitrary: fc.constantFrom<unknown>(ABSENT, null).map((v): V => ({ v, c: 'ok' })), weight: 3 },
          { arbitrary: fc.constantFrom<unknown>('{}', [1, 2], 5).map((v): V => ({ v, c: 'shape' })), weight: b },
        );

  return object(
    {
      organizationId: field([ORG_ID, ORG_ID, ORG_ID, ORG_ID.toUpperCase()], [[OTHER_UUID, 'unauth'], [5, 'shape'], [ABSENT, 'shape']], b),
      conversationId: field([SOME_UUID, NULL_UUID, 'not-a-uuid'], [[5, 'shape'], [ABSENT, 'shape']], b),
      participant: participantField,
      media: mediaField(b),
      language: field(['en-US', 'en-US', ABSENT, null, '', ...GOOD_TAGS], [...NOT_TAGS, [5, 'shape'], [['en-US'], 'shape']], b),
      supportedLanguages: field([ABSENT, ABSENT, true, false, null], [['yes', 'shape'], [1, 'shape']], b),
      customConfig: customConfigField,
      inputVariables: field([ABSENT, { a: 'b' }, {}, null], [[{ a: 1 }, 'shape'], ['x', 'shape']], b),
    },
    fc.constantFrom({}, {}, { continuedSessions: [] }, { futureField: { nested: true } }),
  );
}

// ---- the other client messages --------------------------------------------------------------

export interface MsgItem {
  k: 'msg';
  type: string;
  /** ABSENT only through an envelope mutation; otherwise an object. */
  params: Record<string, unknown>;
  cls: Cls;
  env: EnvMut;
  /** Pad the text to exactly this many characters (a `pad` parameter the parser ignores). */
  pad?: number;
}

export type EnvMut =
  | { t: 'none' }
  | { t: 'extra' }
  | { t: 'version'; v: unknown }
  | { t: 'id'; v: 'other' | 'upper' | 'absent' | 'number' }
  | { t: 'seq'; v: 'gap' | 'dup' | 'zero' | 'neg' | 'float' | 'string' | 'absent'; by: number }
  | { t: 'serverseq'; v: 'ahead' | 'neg' | 'float' | 'string' | 'absent' }
  | { t: 'position'; v: unknown }
  | { t: 'params'; v: unknown }
  | { t: 'type'; v: unknown };

const NONE: EnvMut = { t: 'none' };

const duration = (b: number) =>
  field(['PT0S', 'PT1.5S', 'PT0.2S', 'PT1M5S', 'P1DT2H', ' PT2S ', 'PT12,5S'], [['PT', 'shape'], ['P', 'shape'], ['1.5', 'shape'], ['PT-1S', 'shape'], ['PT1e5S', 'shape'], [5, 'shape'], [null, 'shape'], [ABSENT, 'shape']], b);

function msg(type: string, params: fc.Arbitrary<{ value: Record<string, unknown>; cls: Cls }>): fc.Arbitrary<MsgItem> {
  return params.map(({ value, cls }) => ({ k: 'msg', type, params: value, cls, env: NONE }));
}

/** Control messages other than `open`; `b` = weight of bad parameters (0: all valid). */
export function controlMessage(b: number): fc.Arbitrary<MsgItem> {
  return fc.oneof(
    { arbitrary: msg('ping', object({ rtt: field([ABSENT, 'PT0.01S', 'junk', 3, null], [], 0) })), weight: 8 },
    { arbitrary: msg('paused', fc.constantFrom({}, { reason: 'hold' }).map((value) => ({ value, cls: 'ok' as Cls }))), weight: 3 },
    { arbitrary: msg('resumed', object({ start: duration(b), discarded: duration(b) })), weight: 3 },
    { arbitrary: msg('discarded', object({ start: duration(b), discarded: duration(b) })), weight: 2 },
    { arbitrary: msg('update', object({ language: field([ABSENT, null, '', ...GOOD_TAGS], [...NOT_TAGS, [5, 'shape'], [['en-US'], 'shape'], [{}, 'shape']], b) })), weight: 3 },
    {
      arbitrary: msg(
        'error',
        fc.oneof(
          object({
            code: field([429, 429, 400, 500, 503, 429.5], [['429', 'shape'], [ABSENT, 'shape'], [null, 'shape']], b),
            message: field(['Too Many Requests', 'event messages are not allowed', ABSENT, null], [[5, 'shape']], b),
            retryAfter: field([ABSENT, 'PT0.1S', 'PT2S', 'PT0S', 'junk', 5, 'P1D'], [], 0),
          }),
        ),
      ),
      weight: 3,
    },
    { arbitrary: msg('dtmf', object({ digit: field(['1', '#', '*'], [[ABSENT, 'shape'], [1, 'shape']], b) })), weight: 1 },
    { arbitrary: msg('playback_started', fc.constant({ value: {}, cls: 'ok' as Cls })), weight: 1 },
    { arbitrary: msg('playback_completed', fc.constant({ value: {}, cls: 'ok' as Cls })), weight: 1 },
  );
}

export function closeMessage(b: number): fc.Arbitrary<MsgItem> {
  return msg('close', object({ reason: field(['end', 'end', 'error', 'disconnect', 'reconnect', 'whatever'], [[ABSENT, 'shape'], [5, 'shape'], [null, 'shape']], b) }));
}

export function openMessage(b: number): fc.Arbitrary<MsgItem> {
  return msg('open', openParams(b));
}

export const envMut: fc.Arbitrary<EnvMut> = fc.oneof(
  { arbitrary: fc.constant<EnvMut>({ t: 'extra' }), weight: 3 },
  { arbitrary: fc.constantFrom<unknown>('1', 2, '2.0', ' 2', null, ABSENT).map((v): EnvMut => ({ t: 'version', v })), weight: 2 },
  { arbitrary: fc.constantFrom('other', 'upper', 'absent', 'number').map((v): EnvMut => ({ t: 'id', v: v as 'other' })), weight: 2 },
  {
    arbitrary: fc.tuple(fc.constantFrom('gap', 'gap', 'dup', 'dup', 'zero', 'neg', 'float', 'string', 'absent'), fc.integer({ min: 1, max: 5 })).map(([v, by]): EnvMut => ({ t: 'seq', v: v as 'gap', by })),
    weight: 5,
  },
  { arbitrary: fc.constantFrom('ahead', 'ahead', 'neg', 'float', 'string', 'absent').map((v): EnvMut => ({ t: 'serverseq', v: v as 'ahead' })), weight: 2 },
  { arbitrary: fc.constantFrom<unknown>('junk', 5, 'PT', '-PT1S').map((v): EnvMut => ({ t: 'position', v })), weight: 1 },
  { arbitrary: fc.constantFrom<unknown>(ABSENT, [1], null, 'x', 5).map((v): EnvMut => ({ t: 'params', v })), weight: 2 },
  { arbitrary: fc.constantFrom<unknown>(ABSENT, 7, 'bogus', 'opened', 'PING', '', 'event').map((v): EnvMut => ({ t: 'type', v })), weight: 2 },
);

// ---- everything else a client can put on the wire -------------------------------------------

/** `frames` sample frames of the negotiated media (a whole number of samples per channel). */
export interface AudioItem {
  k: 'audio';
  frames: number;
  fill: 'silence' | 'noise';
  seed: number;
}
/** Binary of an explicit size, whatever the media. */
export interface BytesItem {
  k: 'bytes';
  size: number;
  seed: number;
}
/** Text that is not a message: arbitrary strings, JSON that is not an object, a message cut short. */
export interface RawItem {
  k: 'raw';
  text: string;
}
export interface TruncatedItem {
  k: 'truncated';
  of: MsgItem;
  /** Fraction of the serialized message kept (strictly less than all of it). */
  keep: number;
}
/** A text frame that is not UTF-8 (ws must close the connection). */
export interface BadUtf8Item {
  k: 'utf8';
}
export interface WaitItem {
  k: 'wait';
  ms: number;
}
export type Item = MsgItem | AudioItem | BytesItem | RawItem | TruncatedItem | BadUtf8Item | WaitItem;

export const MAX_PAYLOAD = 1024 * 1024;

const audio: fc.Arbitrary<Item> = fc.record({
  k: fc.constant('audio' as const),
  frames: fc.oneof(fc.constantFrom(1, 80, 160, 800, 1600, 1600), fc.integer({ min: 1, max: 2400 })),
  fill: fc.constantFrom('silence' as const, 'noise' as const, 'noise' as const),
  seed: fc.integer(),
});

export const bytes: fc.Arbitrary<Item> = fc.record({
  k: fc.constant('bytes' as const),
  size: fc.oneof(
    { arbitrary: fc.constantFrom(0, 1, 2, 3, 7, 159, 1601, 3201, 3199, 4097, 65_537), weight: 10 },
    { arbitrary: fc.integer({ min: 0, max: 6000 }), weight: 10 },
    { arbitrary: fc.constantFrom(MAX_PAYLOAD, MAX_PAYLOAD + 1), weight: 1 },
  ),
  seed: fc.integer(),
});

export const raw: fc.Arbitrary<Item> = fc.oneof(
  fc.string({ maxLength: 40 }).map((text): Item => ({ k: 'raw', text })),
  fc.string({ unit: 'binary', maxLength: 40 }).map((text): Item => ({ k: 'raw', text })),
  fc.jsonValue({ maxDepth: 2 }).map((v): Item => ({ k: 'raw', text: JSON.stringify(v) ?? 'null' })),
  fc.constantFrom('', ' ', 'null', '[]', '{}', '{"version":"2"}', '"open"', 'ping').map((text): Item => ({ k: 'raw', text })),
);

/** A valid ping padded to a length around the 64 KiB text limit (and one over the 1 MiB frame cap). */
const oversized: fc.Arbitrary<Item> = fc
  .constantFrom(65_535, 65_535, 65_536, 70_000, MAX_PAYLOAD + 100)
  .map((pad): Item => ({ k: 'msg', type: 'ping', params: {}, cls: 'ok', env: NONE, pad }));

export function item(): fc.Arbitrary<Item> {
  return fc.oneof(
    { arbitrary: audio, weight: 30 },
    { arbitrary: controlMessage(0), weight: 22 },
    { arbitrary: controlMessage(3), weight: 6 },
    { arbitrary: fc.tuple(fc.oneof(controlMessage(0), closeMessage(0), openMessage(0)), envMut).map(([m, env]): Item => ({ ...m, env })), weight: 8 },
    { arbitrary: closeMessage(2), weight: 4 },
    { arbitrary: openMessage(1), weight: 2 },
    { arbitrary: bytes, weight: 8 },
    { arbitrary: raw, weight: 3 },
    { arbitrary: fc.tuple(fc.oneof(controlMessage(0), openMessage(0)), fc.double({ min: 0, max: 0.999, noNaN: true })).map(([of, keep]): Item => ({ k: 'truncated', of, keep })), weight: 2 },
    { arbitrary: oversized, weight: 1 },
    { arbitrary: fc.constant<Item>({ k: 'utf8' }), weight: 1 },
    { arbitrary: fc.integer({ min: 0, max: 15 }).map((ms): Item => ({ k: 'wait', ms })), weight: 3 },
  );
}

/**
 * What the client does once its items are sent:
 * - `close`: sends a valid `close` at once (how Genesys ends a call);
 * - `polite`: waits for the server's `disconnect` (a violation's, or the idle timeout's) and answers it with `close`;
 * - `drop`: drops the socket, after `dropAfterMs`;
 * - `silent`: sends nothing more and never closes: the server must end the session and cut the socket.
 */
export type Ending = 'close' | 'polite' | 'drop' | 'silent';

export interface SessionCase {
  items: Item[];
  ending: Ending;
  dropAfterMs: number;
  /** How the client lets go of the socket at the end: a close handshake or a reset. */
  hangUp: 'close' | 'terminate';
}

export const ENDINGS_FAST: readonly Ending[] = ['close', 'drop', 'polite'];

/**
 * @param endings the endings to draw from. `silent` cases last up to CLIENT_GRACE_MS (10 s) when
 *   the session ends by idle timeout, so they run as their own property, many at once.
 */
export function sessionCase(endings: readonly Ending[] = ENDINGS_FAST): fc.Arbitrary<SessionCase> {
  const first = fc.oneof(
    { arbitrary: openMessage(0).map((m): Item[] => [m]), weight: 70 },
    { arbitrary: openMessage(2).map((m): Item[] => [m]), weight: 18 },
    { arbitrary: fc.constant<Item[]>([]), weight: 12 },
  );
  const weights: Record<Ending, number> = { close: 65, drop: 20, polite: 15, silent: 10 };
  return fc.record({
    items: fc.tuple(first, fc.array(item(), { maxLength: 16 })).map(([a, b]) => [...a, ...b]),
    ending: fc.oneof(...endings.map((e) => ({ arbitrary: fc.constant(e), weight: weights[e] }))),
    dropAfterMs: fc.constantFrom(0, 0, 1, 5),
    hangUp: fc.constantFrom('close' as const, 'terminate' as const),
  });
}
