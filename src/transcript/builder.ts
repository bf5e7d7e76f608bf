/**
 * Turns an engine RecognitionResult into the §4 transcript entity.
 *
 * Engine times are relative to the engine stream; the caller's `toStreamSeconds` maps them onto
 * the absolute stream timeline (§6). Everything here works in whole stream milliseconds, because
 * Durations go out with 3 decimals: two offsets that differ by less than 1 ms would print equal.
 */
import type { RecognitionResult, RecognizedWord } from '../engines/types.js';
import { formatDuration } from '../protocol/duration.js';
import type { TranscriptEntity, TranscriptToken } from './types.js';

/**
 * Utterance confidence when the engine gives none (and no word confidences to average).
 * Not 1.0: that would claim certainty nobody measured; 0.9 reads as "recognised, unscored" and
 * stays above the low-confidence thresholds that consumers typically filter on.
 */
export const DEFAULT_CONFIDENCE = 0.9;

/**
 * Limits for one transcript event. A token costs ~110-140 JSON characters on top of its text and
 * the text appears twice (transcript + token values), so 8,000 characters / 250 words keeps an
 * entity below ~50,000 characters, well under the 65,535-character message limit (§1).
 * (16,000 characters of text alone would mean ~2,500 tokens, i.e. ~300 KB.)
 */
export const MAX_RESULT_CHARS = 8000;
export const MAX_RESULT_WORDS = 250;

export interface BuildTranscriptInput {
  result: RecognitionResult;
  /** UUID of the utterance; reuse it for the interims and the final of one utterance. */
  utteranceId: string;
  channelId: number;
  /** The stream's language, used when the engine does not say which one it recognised. */
  language: string;
  /**
   * Maps engine-stream milliseconds onto absolute stream-timeline seconds. `edge` says whether the
   * time starts or ends a span: an end that falls exactly where a gap (hold, discard) was
   * declared belongs before the gap, a start there belongs after it.
   */
  toStreamSeconds: (engineMs: number, edge?: 'start' | 'end') => number;
  /** Token `language`: full tag (`en-US`, default) or primary subtag (`en`, as the reference). */
  tokenLanguage?: 'full' | 'primary';
}

/** A word with engine-stream times, before mapping. */
interface TimedWord {
  text: string;
  startMs: number;
  endMs: number;
  confidence?: number;
}

export function buildTranscriptEntity(input: BuildTranscriptInput): TranscriptEntity {
  const { result, toStreamSeconds } = input;
  const language = result.language || input.language;
  const tokenLanguage = input.tokenLanguage === 'primary' ? primarySubtag(language) : language;
  const text = result.text.trim();
  const words = text === '' ? [] : timedWords(result, text);
  const confidence = utteranceConfidence(result);

  const startMs = Math.max(0, streamMs(toStreamSeconds(result.startMs), 0));
  let endMs = Math.max(startMs, streamMs(toStreamSeconds(result.endMs, 'end'), startMs));
  // Unique 1 ms-resolution offsets inside the span need at least one ms per extra token; only a
  // degenerate engine span (n words in < n ms) gets stretched, by a few ms.
  if (words.length > 1) endMs = Math.max(endMs, startMs + words.length - 1);

  const tokens = placeTokens(words, startMs, endMs, toStreamSeconds).map(
    (t, i): TranscriptToken => ({
      type: 'word',
      value: words[i]?.text ?? '',
      confidence: normalizeConfidence(words[i]?.confidence, confidence),
      offset: formatDuration(t.startMs / 1000),
      duration: formatDuration((t.endMs - t.startMs) / 1000),
      language: tokenLanguage,
    }),
  );

  return {
    type: 'transcript',
    data: {
      id: input.utteranceId,
      channelId: input.channelId,
      isFinal: result.isFinal,
      offset: formatDuration(startMs / 1000),
      duration: formatDuration((endMs - startMs) / 1000),
      alternatives: [
        {
          confidence,
          languages: [language],
          interpretations: [{ type: 'display', transcript: text, tokens }],
        },
      ],
    },
  };
}

/** JSON length of the entity: what it adds to an event message (the envelope adds ~150). */
export function estimateEntitySize(entity: TranscriptEntity): number {
  return JSON.stringify(entity).length;
}

/** `en-US` → `en`; tolerates `_` separators. */
export function primarySubtag(language: string): string {
  return language.split(/[-_]/)[0] || language;
}

/** Clamps to [0, 1]; a missing or non-finite value becomes `fallback`. */
export function normalizeConfidence(value: number | undefined, fallback: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fallback;
  return Math.min(1, Math.max(0, value));
}

/** Engine confidence, else the mean of the word confidences, else DEFAULT_CONFIDENCE. */
function utteranceConfidence(result: RecognitionResult): number {
  if (typeof result.confidence === 'number' && Number.isFinite(result.confidence)) {
    return normalizeConfidence(result.confidence, DEFAULT_CONFIDENCE);
  }
  let sum = 0;
  let count = 0;
  for (const w of result.words ?? []) {
    if (typeof w.confidence === 'number' && Number.isFinite(w.confidence)) {
      sum += normalizeConfidence(w.confidence, 0);
      count++;
    }
  }
  return count > 0 ? sum / count : DEFAULT_CONFIDENCE;
}

/** Seconds → whole milliseconds; non-finite input becomes `fallback`. */
function streamMs(seconds: number, fallback: number): number {
  return Number.isFinite(seconds) ? Math.round(seconds * 1000) : fallback;
}

/** Engine words when given (blank ones dropped), else the text spread over the span. */
function timedWords(result: RecognitionResult, text: string): TimedWord[] {
  const engineWords = (result.words ?? []).filter((w) => w.text.trim() !== '');
  if (engineWords.length > 0) {
    return engineWords.map((w) => ({ ...w, text: w.text.trim() }));
  }
  return spreadWords(text.split(/\s+/), result.startMs, result.endMs);
}

/**
 * Spreads words evenly over [startMs, endMs] in proportion to their character length: a crude
 * but monotonic stand-in for word times that engines without them cannot provide.
 */
export function spreadWords(texts: string[], startMs: number, endMs: number): TimedWord[] {
  const span = Math.max(0, endMs - startMs);
  const total = texts.reduce((n, t) => n + t.length, 0);
  const out: TimedWord[] = [];
  let chars = 0;
  for (const text of texts) {
    const s = startMs + (total > 0 ? (span * chars) / total : 0);
    chars += text.length;
    const e = startMs + (total > 0 ? (span * chars) / total : 0);
    out.push({ text, startMs: s, endMs: e });
  }
  return out;
}

/**
 * Maps word times to stream ms and makes them valid: starts inside [uttStart, uttEnd] and strictly
 * increasing (engines emit colliding or out-of-span times, and the client needs unique offsets),
 * ends in [start, uttEnd]. Requires uttEnd - uttStart >= words.length - 1.
 */
function placeTokens(
  words: TimedWord[],
  uttStart: number,
  uttEnd: number,
  toStreamSeconds: BuildTranscriptInput['toStreamSeconds'],
): { startMs: number; endMs: number }[] {
  const starts: number[] = [];
  const ends: number[] = [];
  let prev = uttStart - 1;
  for (const w of words) {
    // Forward pass: clamp into the span, then nudge past the previous start by 1 ms.
    let s = streamMs(toStreamSeconds(w.startMs), prev + 1);
    s = Math.max(prev + 1, Math.min(uttEnd, Math.max(uttStart, s)));
    starts.push(s);
    ends.push(streamMs(toStreamSeconds(w.endMs, 'end'), s));
    prev = s;
  }
  // Backward pass: the forward nudges may have pushed the last starts past the end; pull them
  // back 1 ms apart. The span is wide enough that this never goes below uttStart + index.
  let next = uttEnd + 1;
  for (let i = starts.length - 1; i >= 0; i--) {
    const s = Math.min(starts[i] ?? uttEnd, next - 1);
    starts[i] = s;
    next = s;
  }
  return starts.map((s, i) => ({ startMs: s, endMs: Math.min(uttEnd, Math.max(s, ends[i] ?? s)) }));
}

/**
 * Splits a result whose text exceeds `maxChars` characters or `maxWords` words into consecutive
 * results that each fit one event (§1: split an event rather than grow it). Splits on word
 * boundaries (a single word longer than `maxChars`, e.g. unspaced CJK text, is cut hard). The span
 * is divided at the word times when present, else in proportion to the characters. The session
 * sends the pieces in order: the first under the utterance id (so it replaces the interims), the
 * others under fresh ids. A result within the limits comes back unchanged as `[result]`.
 */
export function splitLongResult(
  result: RecognitionResult,
  maxChars: number = MAX_RESULT_CHARS,
  maxWords: number = MAX_RESULT_WORDS,
): RecognitionResult[] {
  const text = result.text.trim();
  const pieces = text === '' ? [] : text.split(/\s+/);
  if (text.length <= maxChars && pieces.length <= maxWords) return [result];

  const limitChars = Math.max(1, Math.floor(maxChars));
  const limitWords = Math.max(1, Math.floor(maxWords));
  const engineWords = (result.words ?? []).filter((w) => w.text.trim() !== '');
  const timed = engineWords.length > 0;
  // With word times, the words are the units; keep the display text's spelling when it lines up.
  const units: TimedWord[] = timed
    ? engineWords.map((w, i) => ({ ...w, text: pieces.length === engineWords.length ? (pieces[i] ?? w.text) : w.text.trim() }))
    : spreadWords(pieces, result.startMs, result.endMs);
  const cut = units.flatMap((u) => hardSplit(u, limitChars));

  // Group units into chunks under both limits.
  const chunks: TimedWord[][] = [];
  let current: TimedWord[] = [];
  let chars = 0;
  for (const u of cut) {
    const added = (current.length > 0 ? 1 : 0) + u.text.length;
    if (current.length > 0 && (chars + added > limitChars || current.length >= limitWords)) {
      chunks.push(current);
      current = [];
      chars = 0;
    }
    chars += (current.length > 0 ? 1 : 0) + u.text.length;
    current.push(u);
  }
  if (current.length > 0) chunks.push(current);
  if (chunks.length <= 1) return [result];

  // Boundaries: the first word start of each chunk, kept monotonic and inside the span.
  const spanEnd = Math.max(result.startMs, result.endMs);
  const bounds = [result.startMs];
  for (let k = 1; k < chunks.length; k++) {
    const prev = bounds[k - 1] ?? result.startMs;
    const first = chunks[k]?.[0]?.startMs;
    const b = typeof first === 'number' && Number.isFinite(first) ? first : prev;
    bounds.push(Math.min(spanEnd, Math.max(prev, b)));
  }
  bounds.push(spanEnd);

  return chunks.map((chunk, k) => {
    const piece: RecognitionResult = {
      isFinal: result.isFinal,
      text: chunk.map((u) => u.text).join(' '),
      startMs: bounds[k] ?? result.startMs,
      endMs: bounds[k + 1] ?? spanEnd,
    };
    if (result.confidence !== undefined) piece.confidence = result.confidence;
    if (result.language !== undefined) piece.language = result.language;
    if (timed) piece.words = chunk.map((u): RecognizedWord => ({ ...u }));
    return piece;
  });
}

/** Cuts a unit longer than `maxChars` into pieces, dividing its time in proportion. */
function hardSplit(unit: TimedWord, maxChars: number): TimedWord[] {
  if (unit.text.length <= maxChars) return [unit];
  const parts: string[] = [];
  let i = 0;
  while (i < unit.text.length) {
    let j = Math.min(unit.text.length, i + maxChars);
    // Do not cut a surrogate pair in half.
    const code = unit.text.charCodeAt(j - 1);
    if (j < unit.text.length && j - i > 1 && code >= 0xd800 && code <= 0xdbff) j--;
    parts.push(unit.text.slice(i, j));
    i = j;
  }
  const spread = spreadWords(parts, unit.startMs, unit.endMs);
  return spread.map((p) => (unit.confidence !== undefined ? { ...p, confidence: unit.confidence } : p));
}
