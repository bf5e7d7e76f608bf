/**
 * What `pocketsphinx_batch` writes for each utterance (`-hyp` and `-ctm` on one pipe, unbuffered,
 * in this order):
 *
 *   please call me back (u7 -16340)          hypothesis: real words only, then (uttid score)
 *   u7 1 0.31 0.31 please 0.824              CTM: uttid channel start duration word posterior
 *   u7 1 0.63 0.22 call 0.999                (one line per real word; seconds from the
 *   …                                         utterance's first sample)
 *
 * The hypothesis line says how many CTM lines follow, which is how the end of an utterance is
 * known without waiting for the next one. Fillers and pronunciation variants (`to(3)`) are
 * handled here too, in case a model's dictionary lets some through.
 */
import type { RecognitionResult, RecognizedWord } from '../types.js';

export type DecoderLine =
  | { kind: 'hyp'; uttId: string; wordCount: number }
  | { kind: 'word'; uttId: string; word: string; startSec: number; durationSec: number; posterior: number };

const HYP = /^(.*?) ?\((\S+) -?\d+\)$/;
const NUM = String.raw`(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|inf|nan)`;
const CTM = new RegExp(String.raw`^(\S+) \S+ ${NUM} ${NUM} (\S+) ${NUM}$`);

/** One line of the decoder's output, or undefined for anything else. */
export function parseDecoderLine(line: string): DecoderLine | undefined {
  const ctm = CTM.exec(line);
  if (ctm) {
    return {
      kind: 'word',
      uttId: ctm[1] as string,
      startSec: Number(ctm[2]),
      durationSec: Number(ctm[3]),
      word: ctm[4] as string,
      posterior: Number(ctm[5]),
    };
  }
  const hyp = HYP.exec(line);
  if (hyp) {
    const text = (hyp[1] as string).trim();
    return { kind: 'hyp', uttId: hyp[2] as string, wordCount: text === '' ? 0 : text.split(/\s+/).length };
  }
  return undefined;
}

/** `<s>`, `</s>`, `<sil>`, `[NOISE]`, `++BREATH++`, `+SPN+`: the model's non-words. */
export function isFiller(word: string): boolean {
  return /^<.*>$|^\[.*\]$|^\+.*\+$/.test(word);
}

/** `word(2)` → `word`; fillers → undefined; the pronoun I capitalized (the dictionary is lower case). */
export function cleanWord(word: string): string | undefined {
  if (isFiller(word)) return undefined;
  const base = word.replace(/\(\d+\)$/, '');
  if (base === '' || isFiller(base)) return undefined;
  return /^i('(m|d|ll|ve))?$/.test(base) ? `I${base.slice(1)}` : base;
}

const clamp = (value: number, min: number, max: number): number => (value < min ? min : value > max ? max : value);

/**
 * The recognizer's answer from one utterance's CTM lines. Times are milliseconds from the
 * utterance's first sample (resampling does not move time), clamped into the utterance and kept
 * in order; confidence is the word's posterior, the utterance's the mean of its words'.
 */
export function toRecognition(
  lines: readonly Extract<DecoderLine, { kind: 'word' }>[],
  durationMs: number,
  language: string,
): Omit<RecognitionResult, 'isFinal' | 'startMs' | 'endMs'> {
  const words: RecognizedWord[] = [];
  let previousStart = 0;
  for (const line of lines) {
    const text = cleanWord(line.word);
    if (text === undefined || !Number.isFinite(line.startSec) || !Number.isFinite(line.durationSec)) continue;
    const startMs = clamp(Math.round(line.startSec * 1000), previousStart, durationMs);
    const endMs = clamp(Math.round((line.startSec + line.durationSec) * 1000), startMs, durationMs);
    const confidence = Number.isFinite(line.posterior) ? clamp(line.posterior, 0, 1) : 0;
    words.push({ text, startMs, endMs, confidence });
    previousStart = startMs;
  }
  if (words.length === 0) return { text: '', words: [], language };
  const confidence = words.reduce((sum, w) => sum + (w.confidence ?? 0), 0) / words.length;
  return { text: words.map((w) => w.text).join(' '), confidence, words, language };
}
