/**
 * The `simulated` engine: for connectivity and load tests only. It is NOT a recognizer. It finds
 * stretches of sound by block energy and reports each as `[speech 1.4 s]`, so that the whole
 * pipeline (timeline mapping, events, rate limits) can run without a vendor account or cost.
 *
 * Cost matters more than accuracy: it runs for thousands of streams in the load benchmark, so the
 * per-sample work is one multiply-add, nothing is allocated per block and no stream owns a timer.
 */
import type {
  EngineStream,
  EngineStreamOptions,
  RecognitionResult,
  RecognizedWord,
  SpeechEngine,
} from '../types.js';
import { MULAW_TO_PCM16 } from '../../audio/mulaw.js';

export interface SimulatedEngineOptions {
  /** Absolute speech threshold on the block RMS, dBFS (full scale = 32768). Default −40. */
  thresholdDbfs?: number;
  /** Continuous speech needed before an utterance starts. Default 100 ms. */
  minSpeechMs?: number;
  /** Silence that ends an utterance. Default 400 ms, as the Genesys sample service's simulated transcription. */
  endSilenceMs?: number;
  /** Interim cadence while speaking, when the stream wants interims. Default 1000 ms. */
  interimEveryMs?: number;
  /** An utterance is force-ended at this length. Default 15000 ms. */
  maxUtteranceMs?: number;
}

const BLOCK_MS = 20;
/** Energy is measured on every 4th sample (a 2 kHz view of 8 kHz audio is plenty for a level). */
const ENERGY_STRIDE = 4;
/** Squared PCM value of each µ-law byte: energy straight from the wire format. */
const MULAW_ENERGY = Float64Array.from(MULAW_TO_PCM16, (v) => v * v);
/** A block is speech only if it is this far above the tracked noise floor (energy ratio, 10 dB). */
const FLOOR_MARGIN = 10;
/** The floor follows a rising noise level at ~3 dB/s (per 20 ms block), and drops at once. */
const FLOOR_RISE = Math.pow(10, 0.3 / (1000 / BLOCK_MS));
/** Lowest floor (−70 dBFS): keeps digital silence (energy 0) from pinning the floor at zero. */
const FLOOR_MIN = 32768 * 32768 * Math.pow(10, -70 / 10);

export function createSimulatedEngine(options: SimulatedEngineOptions = {}): SpeechEngine {
  const config = {
    thresholdDbfs: options.thresholdDbfs ?? -40,
    minSpeechMs: options.minSpeechMs ?? 100,
    endSilenceMs: options.endSilenceMs ?? 400,
    interimEveryMs: options.interimEveryMs ?? 1000,
    maxUtteranceMs: options.maxUtteranceMs ?? 15000,
  };
  return {
    name: 'simulated',
    capabilities: { interimResults: true, wordTimes: true, wordConfidence: false, mulawInput: true },
    // Placeholder transcripts need no language model: load tests may use any language.
    languages: 'any',
    openStream: (streamOptions) => openSimulatedStream(config, streamOptions),
  };
}

type Config = Required<SimulatedEngineOptions>;

function openSimulatedStream(config: Config, options: EngineStreamOptions): EngineStream {
  const rate = options.sampleRate > 0 ? options.sampleRate : 8000;
  const blockSize = Math.max(1, Math.round((rate * BLOCK_MS) / 1000));
  const msPerSample = 1000 / rate;
  // Compare mean squares rather than RMS: no sqrt per block.
  const thresholdEnergy = 32768 * 32768 * Math.pow(10, config.thresholdDbfs / 10);
  const minSpeechBlocks = Math.max(1, Math.ceil(config.minSpeechMs / BLOCK_MS));
  const endSilenceBlocks = Math.max(1, Math.ceil(config.endSilenceMs / BLOCK_MS));
  const maxUtteranceSamples = Math.max(blockSize, Math.round((config.maxUtteranceMs * rate) / 1000));
  const interimSamples = Math.max(blockSize, Math.round((config.interimEveryMs * rate) / 1000));

  let closed = false;
  // The block being filled: carried across push() calls, so frames may be any size.
  let blockSum = 0;
  let blockFill = 0;
  /** Sample index (this stream's time) where the block being filled starts. */
  let blockStart = 0;
  let floor = Math.max(FLOOR_MIN, thresholdEnergy / FLOOR_MARGIN);
  // Detection state.
  let inUtterance = false;
  let runStart = 0; // first sample of the current run of speech blocks (while idle)
  let speechRun = 0;
  let silenceRun = 0;
  let uttStart = 0;
  let speechEnd = 0; // end sample of the last speech block in the utterance
  let nextInterim = 0;

  function emit(result: RecognitionResult): void {
    try {
      options.onResult(result);
    } catch (err) {
      // A consumer bug must not break detection for the rest of the stream.
      options.log.error({ err }, 'simulated engine: onResult threw');
    }
  }

  function makeResult(isFinal: boolean, start: number, end: number): RecognitionResult {
    const startMs = start * msPerSample;
    const endMs = end * msPerSample;
    const seconds = ((endMs - startMs) / 1000).toFixed(1);
    const texts = ['[speech', seconds, 's]'];
    const step = (endMs - startMs) / texts.length;
    const words: RecognizedWord[] = texts.map((text, i) => ({
      text,
      startMs: startMs + step * i,
      endMs: i === texts.length - 1 ? endMs : startMs + step * (i + 1),
    }));
    return { isFinal, text: texts.join(' '), confidence: 1, startMs, endMs, words };
  }

  function endUtterance(): void {
    inUtterance = false;
    speechRun = 0;
    silenceRun = 0;
    emit(makeResult(true, uttStart, speechEnd));
  }

  /** Classifies one complete block; called ~50 times per second of audio. */
  function onBlock(meanSquare: number, start: number, end: number): void {
    const speech = meanSquare > thresholdEnergy && meanSquare > floor * FLOOR_MARGIN;
    // Noise floor: instant fall, slow rise, so a constant noise level stops counting as speech.
    floor = meanSquare < floor ? Math.max(FLOOR_MIN, meanSquare) : floor * FLOOR_RISE;

    if (!inUtterance) {
      if (!speech) {
        speechRun = 0;
        return;
      }
      if (speechRun === 0) runStart = start;
      if (++speechRun < minSpeechBlocks) return;
      inUtterance = true;
      uttStart = runStart;
      speechEnd = end;
      silenceRun = 0;
      nextInterim = uttStart + interimSamples;
    } else if (speech) {
      speechEnd = end;
      silenceRun = 0;
    } else if (++silenceRun >= endSilenceBlocks) {
      endUtterance();
      return;
    }

    if (end - uttStart >= maxUtteranceSamples) {
      endUtterance();
      return;
    }
    // Interims only on speech blocks: during a trailing pause they would repeat the last one.
    if (options.interimResults && speech && end >= nextInterim) {
      while (nextInterim <= end) nextInterim += interimSamples;
      emit(makeResult(false, uttStart, speechEnd));
    }
  }

  /**
   * Audio arrives in frames of any size and is cut into 20 ms blocks carried across calls. Energy
   * comes from every ENERGY_STRIDE-th sample of the stream, aligned on the stream's sample index so
   * frame sizes never change the result: a detector needs the level, not every sample. The two
   * push paths below differ only in how a sample's energy is read; they are written out (no
   * callback) because they run for every frame of every load-test session.
   */
  function firstInBlock(i: number): number {
    const phase = (blockStart + blockFill) % ENERGY_STRIDE;
    return phase === 0 ? i : i + ENERGY_STRIDE - phase;
  }

  function completeBlock(): void {
    const start = blockStart;
    const sum = blockSum;
    blockStart += blockSize;
    blockSum = 0;
    blockFill = 0;
    onBlock(sum / (blockSize / ENERGY_STRIDE), start, blockStart);
  }

  return {
    push(samples: Int16Array): void {
      if (closed) return;
      const n = samples.length;
      for (let i = 0; i < n; ) {
        const stop = i + Math.min(blockSize - blockFill, n - i);
        let sum = blockSum;
        for (let k = firstInBlock(i); k < stop; k += ENERGY_STRIDE) {
          const a = samples[k] as number;
          sum += a * a;
        }
        blockSum = sum;
        blockFill += stop - i;
        i = stop;
        if (blockFill === blockSize) completeBlock();
      }
    },

    pushMulaw(frame: Uint8Array, channel: number, channelCount: number): void {
      if (closed) return;
      // Reads this channel's bytes in place: no de-interleaving, no decoding.
      const n = frame.length / channelCount;
      const step = ENERGY_STRIDE * channelCount;
      for (let i = 0; i < n; ) {
        const stop = i + Math.min(blockSize - blockFill, n - i);
        let sum = blockSum;
        const end = stop * channelCount;
        for (let k = firstInBlock(i) * channelCount + channel; k < end; k += step) sum += MULAW_ENERGY[frame[k] as number] as number;
        blockSum = sum;
        blockFill += stop - i;
        i = stop;
        if (blockFill === blockSize) completeBlock();
      }
    },

    flush(): Promise<void> {
      // Results are delivered synchronously from push(), so only the open utterance is pending.
      // A partial block (< 20 ms) stays buffered: it counts toward the next utterance, if any.
      if (!closed && inUtterance) endUtterance();
      return Promise.resolve();
    },

    close(): Promise<void> {
      closed = true;
      inUtterance = false;
      return Promise.resolve();
    },
  };
}
