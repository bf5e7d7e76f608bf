/**
 * Checks on what the server sends, beyond the envelope `parseServerMessage` already validates:
 * the `opened` media choice and the shape of transcript events. A Genesys client rejects what
 * these reject, so each error is a protocol violation by the server.
 */
import type { MediaChannel, MediaOffer } from '../../protocol/messages.js';

/** Durations the client accepts from a server: `PT<seconds>S` only (protocol §2). */
const STRICT_DURATION = /^PT(\d+(?:\.\d+)?)S$/;

export function strictDuration(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = STRICT_DURATION.exec(value);
  return m ? Number(m[1]) : undefined;
}

/** Structural equality (key order ignored): "copied unchanged" is about content, not bytes. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export interface OpenedInfo {
  /** The chosen offer (our own object), or null when the server asked for no audio. */
  media: MediaOffer | null;
  startPaused: boolean;
  discardTo?: number;
  supportedLanguages?: string[];
}

type Result<T> = { ok: true; value: T } | { ok: false; error: string };

export function checkOpened(
  params: Record<string, unknown>,
  offers: readonly MediaOffer[],
  askedForLanguages: boolean,
): Result<OpenedInfo> {
  const media = params.media;
  if (!Array.isArray(media)) return { ok: false, error: 'opened.media is not an array' };
  if (media.length > 1) return { ok: false, error: `opened.media holds ${media.length} entries, expected exactly one` };
  let chosen: MediaOffer | null = null;
  if (media.length === 1) {
    const found = offers.find((o) => deepEqual(o, media[0]));
    if (!found) return { ok: false, error: `opened.media ${JSON.stringify(media[0])} is not one of the offers` };
    chosen = found;
  }
  const startPaused = params.startPaused ?? false;
  if (typeof startPaused !== 'boolean') return { ok: false, error: 'opened.startPaused is not a boolean' };
  const info: OpenedInfo = { media: chosen, startPaused };
  if (params.discardTo !== undefined) {
    const d = strictDuration(params.discardTo);
    if (d === undefined) return { ok: false, error: `opened.discardTo ${JSON.stringify(params.discardTo)} is not a valid Duration` };
    info.discardTo = d;
  }
  const langs = params.supportedLanguages;
  if (langs !== undefined) {
    if (!Array.isArray(langs) || !langs.every((l) => typeof l === 'string')) {
      return { ok: false, error: 'opened.supportedLanguages is not an array of strings' };
    }
    info.supportedLanguages = langs as string[];
  } else if (askedForLanguages) {
    return { ok: false, error: 'opened.supportedLanguages missing although open asked for it' };
  }
  return { ok: true, value: info };
}

export interface Transcript {
  /** Utterance id: interims and the final of one utterance share it. */
  id: string;
  channelId: number;
  /** The channel name from the selected media (`external` = customer, `internal` = agent). */
  channel: MediaChannel;
  isFinal: boolean;
  /** Stream-timeline seconds. */
  offset: number;
  duration: number;
  text: string;
  confidence?: number;
  language?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isUnit = (v: unknown): boolean => typeof v === 'number' && v >= 0 && v <= 1;
/** Durations are written with 3 decimals; allow that much rounding on span checks. */
const EPS = 0.0015;

function checkTranscript(data: unknown, channels: readonly MediaChannel[]): Result<Transcript> {
  if (!isObject(data)) return { ok: false, error: 'transcript data is not an object' };
  const { id, channelId, isFinal, alternatives } = data;
  if (typeof id !== 'string' || id === '') return { ok: false, error: 'transcript without id' };
  if (typeof channelId !== 'number' || !Number.isInteger(channelId) || channelId < 0 || channelId >= channels.length) {
    return { ok: false, error: `transcript channelId ${JSON.stringify(channelId)} is not a channel of the selected media` };
  }
  if (typeof isFinal !== 'boolean') return { ok: false, error: 'transcript isFinal is not a boolean' };
  const offset = strictDuration(data.offset);
  const duration = strictDuration(data.duration);
  if (offset === undefined) return { ok: false, error: `transcript offset ${JSON.stringify(data.offset)} is not PT<seconds>S` };
  if (duration === undefined) return { ok: false, error: `transcript duration ${JSON.stringify(data.duration)} is not PT<seconds>S` };
  if (!Array.isArray(alternatives) || alternatives.length === 0) return { ok: false, error: 'transcript without alternatives' };
  const alt: unknown = alternatives[0];
  if (!isObject(alt)) return { ok: false, error: 'transcript alternative is not an object' };
  if (alt.confidence !== undefined && !isUnit(alt.confidence)) return { ok: false, error: 'alternative confidence outside [0, 1]' };
  if (alt.languages !== undefined && !(Array.isArray(alt.languages) && alt.languages.every((l) => typeof l === 'string'))) {
    return { ok: false, error: 'alternative languages is not an array of strings' };
  }
  const interpretations = alt.interpretations;
  if (!Array.isArray(interpretations) || interpretations.length === 0) return { ok: false, error: 'alternative without interpretations' };
  let text: string | undefined;
  for (const interp of interpretations as unknown[]) {
    if (!isObject(interp) || interp.type !== 'display' || typeof interp.transcript !== 'string') {
      return { ok: false, error: 'interpretation is not {type:"display", transcript:string}' };
    }
    text ??= interp.transcript;
    const tokens = interp.tokens ?? [];
    if (!Array.isArray(tokens)) return { ok: false, error: 'interpretation tokens is not an array' };
    const seen = new Set<number>();
    for (const tok of tokens as unknown[]) {
      if (!isObject(tok) || tok.type !== 'word' || typeof tok.value !== 'string') {
        return { ok: false, error: 'token is not {type:"word", value:string}' };
      }
      if (tok.confidence !== undefined && !isUnit(tok.confidence)) return { ok: false, error: 'token confidence outside [0, 1]' };
      const tOff = strictDuration(tok.offset);
      if (tOff === undefined || strictDuration(tok.duration) === undefined) {
        return { ok: false, error: `token '${tok.value}' offset/duration is not PT<seconds>S` };
      }
      if (seen.has(tOff)) return { ok: false, error: `two tokens at offset ${String(tok.offset)}` };
      seen.add(tOff);
      if (tOff < offset - EPS || tOff > offset + duration + EPS) {
        return { ok: false, error: `token '${tok.value}' at ${String(tok.offset)} is outside the utterance` };
      }
    }
  }
  const t: Transcript = {
    id,
    channelId,
    channel: channels[channelId] as MediaChannel,
    isFinal,
    offset,
    duration,
    text: text ?? '',
  };
  if (typeof alt.confidence === 'number') t.confidence = alt.confidence;
  const lang = Array.isArray(alt.languages) ? (alt.languages[0] as unknown) : undefined;
  if (typeof lang === 'string') t.language = lang;
  return { ok: true, value: t };
}

/** Reads an `event` message. Non-transcript entities are counted, not rejected. */
export function checkEvent(
  params: Record<string, unknown>,
  channels: readonly MediaChannel[],
): Result<{ transcripts: Transcript[]; otherEntities: number }> {
  const entities = params.entities;
  if (!Array.isArray(entities) || entities.length === 0) return { ok: false, error: 'event without entities' };
  const transcripts: Transcript[] = [];
  let otherEntities = 0;
  for (const entity of entities as unknown[]) {
    if (!isObject(entity) || typeof entity.type !== 'string') return { ok: false, error: 'event entity is not {type, data}' };
    if (entity.type !== 'transcript') {
      otherEntities += 1;
      continue;
    }
    const t = checkTranscript(entity.data, channels);
    if (!t.ok) return t;
    transcripts.push(t.value);
  }
  return { ok: true, value: { transcripts, otherEntities } };
}
