/**
 * The fake service's "speech recognition": pure and incremental. Audio is cut into 20 ms blocks;
 * a block is speech when its RMS is above -40 dBFS; a word is a run of speech blocks (bridging
 * gaps shorter than 60 ms) named by its zero-crossing frequency (see vocabulary.ts); an utterance
 * ends after `endpointMs` of silence. Tone words therefore come back exactly; real speech comes
 * back as plausible nonsense NATO words, which is all the load tests need.
 */
import { wordForFrequency } from './vocabulary.js';

export interface RecognizedWord {
  word: string;
  /** Milliseconds of stream audio (from the first sample pushed). */
  startMs: number;
  endMs: number;
}

export type RecognizerEvent =
  /** Words so far of the utterance in progress; `atMs` is how much audio had been heard. */
  | { kind: 'interim'; words: RecognizedWord[]; atMs: number }
  /** All words of a finished utterance; `endMs` is the end of its last word. */
  | { kind: 'final'; words: RecognizedWord[]; endMs: number }
  /** Voice activity: speech began (its first word's start) or ended (the endpoint was reached). */
  | { kind: 'speech-begin' | 'speech-end'; atMs: number };

export interface RecognizerOptions {
  sampleRate: number;
  /** Silence that ends an utterance; default 500 ms. */
  endpointMs?: number;
  /** Emit interim events (default false). */
  interim?: boolean;
  /** Audio between interim events during an utterance; default 400 ms. */
  interimEveryMs?: number;
  /** An utterance running longer than this is finalized at the next word end; default 20 s. */
  maxUtteranceMs?: number;
}

export interface Recognizer {
  push(samples: Int16Array): RecognizerEvent[];
  /** Finalizes whatever is pending (the client half-closed). */
  finish(): RecognizerEvent[];
  /** Audio pushed so far, in ms. */
  readonly heardMs: number;
}

const BLOCK_MS = 20;
const BRIDGE_MS = 60;
/** -40 dBFS of full scale: threshold for block RMS, and for a "loud" sample when refining edges. */
const THRESHOLD = 32768 * 0.01;
/** Crossings further apart than this (a pause, < 100 Hz) do not count towards the frequency. */
const MAX_HALF_PERIOD_S = 1 / 200;

interface OpenWord {
  startSample: number;
  endSample: number;
  lastSpeechBlock: number;
  /** Zero crossings in the word's speech blocks, and the samples between them. */
  crossings: number;
  crossingSpan: number;
}

export function createRecognizer(opts: RecognizerOptions): Recognizer {
  const rate = opts.sampleRate;
  const blockLen = Math.max(1, Math.round((rate * BLOCK_MS) / 1000));
  const endpointBlocks = Math.ceil((opts.endpointMs ?? 500) / BLOCK_MS);
  const bridgeBlocks = Math.ceil(BRIDGE_MS / BLOCK_MS);
  const interimBlocks = Math.max(1, Math.round((opts.interimEveryMs ?? 400) / BLOCK_MS));
  const maxUtteranceMs = opts.maxUtteranceMs ?? 20_000;
  const ms = (sample: number): number => (sample * 1000) / rate;
  const maxHalfPeriod = Math.ceil(rate * MAX_HALF_PERIOD_S);
  // Frequency from the crossing rate where the tone is, not per block: a word rarely fills its
  // first and last blocks.
  const nameOf = (w: OpenWord): string => wordForFrequency(w.crossingSpan > 0 ? (w.crossings * rate) / (2 * w.crossingSpan) : 0);

  const block = new Int16Array(blockLen);
  let fill = 0;
  let blockIndex = 0;
  let samplesDone = 0; // samples of all processed blocks
  let lastNegative = false;
  let lastCrossing = -Infinity;
  let prevQuietFirstLoud = -1; // first loud sample of the previous block, when it was not speech
  let lastSpeechBlock = -1;
  let word: OpenWord | null = null;
  let utterance: { words: RecognizedWord[]; nextInterimBlock: number } | null = null;

  function closeWord(out: RecognizerEvent[]): void {
    if (!word || !utterance) return;
    utterance.words.push({
      word: nameOf(word),
      startMs: ms(word.startSample),
      endMs: ms(word.endSample),
    });
    word = null;
    const first = utterance.words[0];
    if (first && ms(samplesDone) - first.startMs > maxUtteranceMs) finalize(out);
  }

  function finalize(out: RecognizerEvent[]): void {
    if (utterance) {
      const last = utterance.words[utterance.words.length - 1];
      // As the real service does, the end of speech is announced before the final result.
      out.push({ kind: 'speech-end', atMs: ms(samplesDone) });
      if (last) out.push({ kind: 'final', words: utterance.words, endMs: last.endMs });
    }
    utterance = null;
  }

  function wordsSoFar(): RecognizedWord[] {
    const words = [...(utterance?.words ?? [])];
    if (word) words.push({ word: nameOf(word), startMs: ms(word.startSample), endMs: ms(word.endSample) });
    return words;
  }

  function processBlock(n: number, out: RecognizerEvent[]): void {
    const s0 = samplesDone;
    let sumSq = 0;
    let crossings = 0;
    let crossingSpan = 0;
    let firstLoud = -1;
    let lastLoud = -1;
    for (let i = 0; i < n; i++) {
      const x = block[i] as number;
      sumSq += x * x;
      const negative = x < 0;
      if (negative !== lastNegative) {
        const at = s0 + i;
        if (at - lastCrossing <= maxHalfPeriod) {
          crossings++;
          crossingSpan += at - lastCrossing;
        }
        lastCrossing = at;
      }
      lastNegative = negative;
      if (x > THRESHOLD || x < -THRESHOLD) {
        if (firstLoud < 0) firstLoud = s0 + i;
        lastLoud = s0 + i;
      }
    }
    samplesDone += n;
    const speech = Math.sqrt(sumSq / n) > THRESHOLD;

    if (speech) {
      if (word && blockIndex - word.lastSpeechBlock <= bridgeBlocks) {
        word.crossings += crossings;
        word.crossingSpan += crossingSpan;
        word.lastSpeechBlock = blockIndex;
        word.endSample = lastLoud + 1;
      } else {
        closeWord(out);
        // A quiet onset (the fade-in) in the block before still belongs to the word.
        const start = prevQuietFirstLoud >= 0 ? prevQuietFirstLoud : firstLoud >= 0 ? firstLoud : s0;
        word = { startSample: start, endSample: lastLoud + 1, lastSpeechBlock: blockIndex, crossings, crossingSpan };
        if (!utterance) {
          utterance = { words: [], nextInterimBlock: blockIndex + interimBlocks };
          out.push({ kind: 'speech-begin', atMs: ms(start) });
        }
      }
      lastSpeechBlock = blockIndex;
    } else {
      if (word) {
        // The fade-out tail right after the last speech block extends the word.
        if (blockIndex === word.lastSpeechBlock + 1 && lastLoud >= 0) word.endSample = lastLoud + 1;
        if (blockIndex - word.lastSpeechBlock >= bridgeBlocks) closeWord(out);
      }
      if (utterance && !word && blockIndex - lastSpeechBlock >= endpointBlocks) finalize(out);
    }

    if (opts.interim && utterance && blockIndex >= utterance.nextInterimBlock) {
      utterance.nextInterimBlock += interimBlocks;
      const words = wordsSoFar();
      if (words.length > 0) out.push({ kind: 'interim', words, atMs: ms(samplesDone) });
    }
    prevQuietFirstLoud = speech ? -1 : firstLoud;
    blockIndex++;
  }

  return {
    push(samples) {
      const out: RecognizerEvent[] = [];
      let i = 0;
      while (i < samples.length) {
        const take = Math.min(blockLen - fill, samples.length - i);
        block.set(samples.subarray(i, i + take), fill);
        fill += take;
        i += take;
        if (fill === blockLen) {
          processBlock(blockLen, out);
          fill = 0;
        }
      }
      return out;
    },
    finish() {
      const out: RecognizerEvent[] = [];
      if (fill > 0) processBlock(fill, out);
      fill = 0;
      closeWord(out);
      finalize(out);
      return out;
    },
    get heardMs() {
      return ms(samplesDone + fill);
    },
  };
}
