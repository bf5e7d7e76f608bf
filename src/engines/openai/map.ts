/**
 * OpenAI transcription output → words with confidence, and the artifact filter. Pure functions:
 * no SDK types, so recorded responses test them directly.
 */

export interface TokenLogprob {
  token?: string;
  /** UTF-8 bytes of the token (a token may hold part of a character). */
  bytes?: number[];
  logprob?: number;
}

export interface ScoredWord {
  /** As in the text, punctuation attached. */
  text: string;
  confidence?: number;
}

/** Spurious outputs of these models on telephone audio (rings, beeps, prompt echoes). */
export const DEFAULT_ARTIFACTS: readonly string[] = ['ring', 'rings', 'beep', 'beeps', '[ring]', '[beep]', '(ring)', '(beep)', 'context:'];

const encoder = new TextEncoder();

/** Byte ranges of the whitespace-separated words of `text`, in its UTF-8 encoding. */
function wordRanges(text: string): { text: string; from: number; to: number }[] {
  const out: { text: string; from: number; to: number }[] = [];
  let bytes = 0;
  for (const part of text.split(/(\s+)/)) {
    const length = encoder.encode(part).length;
    if (part.trim() !== '') out.push({ text: part, from: bytes, to: bytes + length });
    bytes += length;
  }
  return out;
}

function startsWithAt(haystack: Uint8Array, needle: Uint8Array, at: number): boolean {
  if (at + needle.length > haystack.length) return false;
  for (let i = 0; i < needle.length; i++) if (haystack[at + i] !== needle[i]) return false;
  return true;
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  for (let at = from; at + needle.length <= haystack.length; at++) if (startsWithAt(haystack, needle, at)) return at;
  return -1;
}

/**
 * Words of `text` with a confidence from the token logprobs, aligned by text: each token is found
 * in the text (its bytes, in order), and belongs to every word its bytes overlap. A word's
 * confidence is the arithmetic mean of its tokens' probabilities (exp(logprob)); a word no token
 * was found for has none. Tokens the text does not contain (a normalised final text) are skipped.
 */
export function scoreWords(text: string, logprobs: readonly TokenLogprob[] | undefined): ScoredWord[] {
  const words = wordRanges(text);
  if (!logprobs || logprobs.length === 0) return words.map((w) => ({ text: w.text }));
  const textBytes = encoder.encode(text);
  const sums = new Float64Array(words.length);
  const counts = new Uint32Array(words.length);
  let at = 0;
  for (const t of logprobs) {
    if (typeof t.logprob !== 'number' || !Number.isFinite(t.logprob)) continue;
    let bytes = t.bytes && t.bytes.length > 0 ? Uint8Array.from(t.bytes) : encoder.encode(t.token ?? '');
    let found = startsWithAt(textBytes, bytes, at) ? at : indexOfBytes(textBytes, bytes, at);
    // The text may be trimmed where the tokens are not (a leading space on the first token).
    if (found < 0 && bytes[0] === 0x20) {
      bytes = bytes.subarray(1);
      found = indexOfBytes(textBytes, bytes, at);
    }
    if (found < 0 || bytes.length === 0) continue;
    const from = found;
    const to = found + bytes.length;
    at = to;
    const p = Math.exp(Math.min(0, t.logprob));
    words.forEach((w, i) => {
      if (w.from < to && from < w.to) {
        sums[i] = (sums[i] ?? 0) + p;
        counts[i] = (counts[i] ?? 0) + 1;
      }
    });
  }
  return words.map((w, i) => ((counts[i] ?? 0) > 0 ? { text: w.text, confidence: (sums[i] ?? 0) / (counts[i] ?? 1) } : { text: w.text }));
}

/** Mean of the word confidences, when any word has one. */
export function utteranceConfidence(words: readonly ScoredWord[]): number | undefined {
  const scored = words.filter((w) => w.confidence !== undefined);
  if (scored.length === 0) return undefined;
  return scored.reduce((s, w) => s + (w.confidence ?? 0), 0) / scored.length;
}

/** Lower case, without the sentence punctuation and quotes a model puts around a word. */
function normalizeWord(word: string): string {
  return word.toLowerCase().replace(/^["'“‘]+/, '').replace(/["'”’.,!?;…]+$/, '');
}

export type ArtifactFilter = <T extends { text: string }>(words: readonly T[]) => T[];

/**
 * Removes artifact words at the start and end of an utterance: whole words only, case-insensitive
 * ("Ring." is one, "ringing" is not). Inside a sentence they are real words ("give me a ring").
 * An utterance of artifacts only comes back empty.
 */
export function createArtifactFilter(artifacts: readonly string[]): ArtifactFilter {
  const set = new Set(artifacts.map(normalizeWord).filter((a) => a !== ''));
  const isArtifact = (w: { text: string }) => set.has(normalizeWord(w.text));
  return <T extends { text: string }>(words: readonly T[]): T[] => {
    let from = 0;
    let to = words.length;
    while (from < to && isArtifact(words[from]!)) from++;
    while (to > from && isArtifact(words[to - 1]!)) to--;
    return words.slice(from, to);
  };
}

/** Display text of words: joined by single spaces. */
export function joinWords(words: readonly ScoredWord[]): string {
  return words.map((w) => w.text).join(' ');
}
