/**
 * Google's streaming responses and gRPC statuses in the engine contract's terms. Pure: the
 * times come out relative to the engine stream (the call's base added), nothing else is touched.
 */
import { EngineError } from '../types.js';
import type { RecognitionResult, RecognizedWord } from '../types.js';

/** The parts of a v2 `StreamingRecognizeResponse` we read (camelCase, as the SDK decodes it). */
export interface SpeechResponse {
  speechEventType?: string | null;
  speechEventOffset?: ProtoDuration | null;
  results?: Array<{
    alternatives?: Array<{
      transcript?: string | null;
      confidence?: number | null;
      words?: Array<{ word?: string | null; startOffset?: ProtoDuration | null; endOffset?: ProtoDuration | null; confidence?: number | null }> | null;
    }> | null;
    isFinal?: boolean | null;
    resultEndOffset?: ProtoDuration | null;
    languageCode?: string | null;
  }> | null;
}

export interface ProtoDuration {
  seconds?: number | string | { toString(): string } | null;
  nanos?: number | null;
}

export function durationMs(d: ProtoDuration | null | undefined): number | undefined {
  if (!d) return undefined;
  const seconds = Number(d.seconds === null || d.seconds === undefined ? 0 : typeof d.seconds === 'object' ? d.seconds.toString() : d.seconds);
  return seconds * 1000 + (d.nanos ?? 0) / 1e6;
}

/**
 * Google answers `en-us`; Genesys expects `en-US`. Only the case changes (`Intl` would also
 * replace tags, e.g. `cmn` by `zh`, and the tag must stay the one the session asked for).
 */
export function canonicalLanguage(code: string | null | undefined): string | undefined {
  if (!code || !/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(code)) return undefined;
  return code
    .split('-')
    .map((part, i) => {
      if (i === 0) return part.toLowerCase();
      if (/^[A-Za-z]{4}$/.test(part)) return part[0]!.toUpperCase() + part.slice(1).toLowerCase();
      if (/^([A-Za-z]{2}|\d{3})$/.test(part)) return part.toUpperCase();
      return part.toLowerCase();
    })
    .join('-');
}

export interface CallTimes {
  /** Engine-stream ms at which this gRPC call's audio starts. */
  baseMs: number;
  /** Call-relative end of the last final: where the next utterance can start at the earliest. */
  lastFinalEndMs: number;
}

/**
 * Results of one response: each final on its own; the interim hypotheses of a response (Google
 * may split one into several results of differing stability) joined into one.
 * `defaultConfidence` replaces a missing or 0 confidence (the chirp models report 0).
 */
export function mapResponse(response: SpeechResponse, call: CallTimes, defaultConfidence: number): RecognitionResult[] {
  const out: RecognitionResult[] = [];
  let interim: RecognitionResult | undefined;
  for (const r of response.results ?? []) {
    const alt = r.alternatives?.[0];
    const text = (alt?.transcript ?? '').trim();
    const words = mapWords(alt?.words, call.baseMs);
    const endCall = durationMs(r.resultEndOffset) ?? (words.length > 0 ? words[words.length - 1]!.endMs - call.baseMs : call.lastFinalEndMs);
    const startMs = words.length > 0 ? words[0]!.startMs : call.baseMs + call.lastFinalEndMs;
    const endMs = Math.max(startMs, call.baseMs + endCall);
    const language = canonicalLanguage(r.languageCode);
    const confidence = alt?.confidence && alt.confidence > 0 ? Math.min(1, alt.confidence) : defaultConfidence;
    if (r.isFinal) {
      call.lastFinalEndMs = Math.max(call.lastFinalEndMs, endCall);
      out.push({ isFinal: true, text, confidence, startMs, endMs, ...(words.length > 0 ? { words } : {}), ...(language ? { language } : {}) });
    } else if (text !== '') {
      if (!interim) interim = { isFinal: false, text, confidence, startMs, endMs, ...(language ? { language } : {}) };
      else {
        interim.text = `${interim.text} ${text}`;
        interim.endMs = Math.max(interim.endMs, endMs);
      }
    }
  }
  if (interim) out.push(interim);
  return out;
}

function mapWords(words: NonNullable<NonNullable<SpeechResponse['results']>[number]['alternatives']>[number]['words'], baseMs: number): RecognizedWord[] {
  const out: RecognizedWord[] = [];
  for (const w of words ?? []) {
    const text = (w.word ?? '').trim();
    const start = durationMs(w.startOffset);
    const end = durationMs(w.endOffset);
    if (text === '' || start === undefined || end === undefined) continue;
    out.push({ text, startMs: baseMs + start, endMs: baseMs + Math.max(start, end), ...(w.confidence && w.confidence > 0 ? { confidence: Math.min(1, w.confidence) } : {}) });
  }
  return out;
}

const STATUS_NAMES: Readonly<Record<number, string>> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  10: 'ABORTED',
  11: 'OUT_OF_RANGE',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
};

/** A credentials problem found by the auth library before any call (no gRPC status then). */
const LOCAL_AUTH_FAILURE = /invalid_grant|unauthorized_client|invalid_client|private key|PEM|DECODER routines/i;

/**
 * A gRPC failure as an EngineError. Messages go to the Genesys admin in `disconnect` (shortened):
 * they say what to fix and carry Google's own explanation, never a credential.
 */
export function engineErrorFrom(err: { code?: unknown; details?: unknown; message?: unknown }, project: string): EngineError {
  const code = typeof err.code === 'number' ? err.code : undefined;
  const details = String(err.details ?? err.message ?? '').slice(0, 160);
  const cause = { cause: err };
  if (code === undefined && LOCAL_AUTH_FAILURE.test(details)) {
    return new EngineError('Google Speech credentials could not be used: check GOOGLE_APPLICATION_CREDENTIALS', 'auth', false, cause);
  }
  const status = code === undefined ? 'no status' : (STATUS_NAMES[code] ?? `status ${code}`);
  switch (code) {
    case 16:
      return new EngineError('Google Speech rejected the credentials (UNAUTHENTICATED): check GOOGLE_APPLICATION_CREDENTIALS', 'auth', false, cause);
    case 7:
      return new EngineError(
        `Google Speech denied access to project ${project} (PERMISSION_DENIED): enable the Speech-to-Text API and grant the service account roles/speech.client`,
        'auth',
        false,
        cause,
      );
    case 3:
      return new EngineError(`Google Speech refused the request (INVALID_ARGUMENT): ${details}`, 'bad-input', false, cause);
    case 5:
      return new EngineError(`Google Speech recognizer or location not found (NOT_FOUND): ${details}`, 'bad-input', false, cause);
    case 8:
      return new EngineError(`Google Speech quota exhausted (RESOURCE_EXHAUSTED): ${details}`, 'quota', true, cause);
    default:
      return new EngineError(`Google Speech stream failed (${status}): ${details}`, 'unavailable', true, cause);
  }
}
