/**
 * Tone-coded words for the fake Google Speech service: word i of the NATO alphabet is a sine tone
 * of 300 + 100·i Hz, so a test can synthesize "speech" whose exact transcript and word times are
 * known, and check that every word reaches the transcript exactly once and in order.
 */

export const WORDS = [
  'alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliett',
  'kilo', 'lima', 'mike', 'november', 'oscar', 'papa', 'quebec', 'romeo', 'sierra', 'tango',
  'uniform', 'victor', 'whiskey', 'xray', 'yankee', 'zulu',
] as const;

export type Word = (typeof WORDS)[number];

const BASE_HZ = 300;
const STEP_HZ = 100;

export function frequencyOf(word: string): number {
  const i = (WORDS as readonly string[]).indexOf(word.toLowerCase());
  if (i < 0) throw new Error(`not a vocabulary word: ${JSON.stringify(word)}`);
  return BASE_HZ + STEP_HZ * i;
}

/** The word whose tone is nearest to `hz` (out-of-range frequencies map to the first or last word). */
export function wordForFrequency(hz: number): Word {
  const i = Math.round((hz - BASE_HZ) / STEP_HZ);
  return WORDS[Math.min(WORDS.length - 1, Math.max(0, i))] as Word;
}

export interface SynthesisOptions {
  /** Default 8000 (telephony). */
  sampleRate?: number;
  /** Length of each word's tone; default 240 ms. */
  toneMs?: number;
  /** Silence between the words of an utterance; default 120 ms. */
  wordGapMs?: number;
  /** Silence between utterances; default 900 ms (longer than the recognizer's 500 ms endpoint). */
  utteranceGapMs?: number;
  leadingSilenceMs?: number;
  trailingSilenceMs?: number;
  /** Peak level; default -12 dBFS. */
  levelDbfs?: number;
}

export interface WordSpan {
  word: string;
  startMs: number;
  endMs: number;
}

export interface UtteranceSpan {
  words: string[];
  startMs: number;
  endMs: number;
  /** Each word's tone, fades included. */
  wordSpans: WordSpan[];
}

export interface SynthesizedSpeech {
  pcm: Int16Array;
  sampleRate: number;
  spans: UtteranceSpan[];
}

const FADE_MS = 10;

export function synthesizeWords(utterances: string[][], opts: SynthesisOptions = {}): SynthesizedSpeech {
  const rate = opts.sampleRate ?? 8000;
  const toneMs = opts.toneMs ?? 240;
  const wordGapMs = opts.wordGapMs ?? 120;
  const utteranceGapMs = opts.utteranceGapMs ?? 900;
  const amplitude = 32767 * 10 ** ((opts.levelDbfs ?? -12) / 20);
  const samplesOf = (ms: number): number => Math.round((ms * rate) / 1000);

  // Lay out the timeline first (in ms), then render it.
  const spans: UtteranceSpan[] = [];
  let t = opts.leadingSilenceMs ?? 0;
  utterances.forEach((words, u) => {
    if (u > 0) t += utteranceGapMs;
    const wordSpans: WordSpan[] = [];
    words.forEach((word, w) => {
      frequencyOf(word); // validates early
      if (w > 0) t += wordGapMs;
      wordSpans.push({ word: word.toLowerCase(), startMs: t, endMs: t + toneMs });
      t += toneMs;
    });
    const first = wordSpans[0];
    if (first) spans.push({ words: wordSpans.map((s) => s.word), startMs: first.startMs, endMs: t, wordSpans });
  });
  t += opts.trailingSilenceMs ?? 0;

  const pcm = new Int16Array(samplesOf(t));
  const fade = Math.max(1, samplesOf(FADE_MS));
  for (const span of spans) {
    for (const ws of span.wordSpans) {
      const start = samplesOf(ws.startMs);
      const n = samplesOf(ws.endMs) - start;
      const w = (2 * Math.PI * frequencyOf(ws.word)) / rate;
      for (let i = 0; i < n; i++) {
        const env = Math.min(1, (i + 0.5) / fade, (n - i - 0.5) / fade);
        pcm[start + i] = Math.round(amplitude * env * Math.sin(w * i));
      }
    }
  }
  return { pcm, sampleRate: rate, spans };
}

/** Little-endian bytes of PCM16 samples, as LINEAR16 audio is sent on the wire. */
export function pcm16Bytes(pcm: Int16Array): Buffer {
  const out = Buffer.alloc(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) out.writeInt16LE(pcm[i] as number, i * 2);
  return out;
}
