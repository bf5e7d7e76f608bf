/**
 * Settings of the utterance buffer, shared by every engine built on it (OpenAI, offline): one
 * environment fragment, in milliseconds, with the segmenter's defaults. Loads no wasm: the
 * configuration imports it whether or not such an engine is configured.
 */
import { z } from 'zod';
import { intIn } from '../../config/env.js';
import type { VadMode } from './vad.js';

export interface SegmenterOptions {
  /** Continuous voiced audio that starts an utterance. Default 80 ms. */
  onsetMs?: number;
  /** Unvoiced audio that ends an utterance. Default 800 ms. */
  endSilenceMs?: number;
  /** Audio sent before the speech start. Default 200 ms. */
  preRollMs?: number;
  /** Audio sent after the speech end (bounded by the end silence). Default 200 ms. */
  postRollMs?: number;
  /** Audio at the start of each engine stream that never counts as speech (connection beeps). Default 0. */
  skipStartMs?: number;
  /** Shorter speech is discarded (clicks, breaths) and counted. Default 150 ms. */
  minUtteranceMs?: number;
  /** Longer speech is split at its quietest moment. Default 15000 ms. */
  maxUtteranceMs?: number;
  /** WebRTC VAD aggressiveness, 0–3. Default 2. */
  vadMode?: VadMode;
}

export const SEGMENTER_DEFAULTS: Required<SegmenterOptions> = {
  onsetMs: 80,
  endSilenceMs: 800,
  preRollMs: 200,
  postRollMs: 200,
  skipStartMs: 0,
  minUtteranceMs: 150,
  maxUtteranceMs: 15000,
  vadMode: 2,
};

const d = SEGMENTER_DEFAULTS;
export const segmenterEnv = {
  VAD_MODE: intIn(0, 3).default(d.vadMode),
  VAD_ONSET_MS: intIn(20, 1000).default(d.onsetMs),
  VAD_END_SILENCE_MS: intIn(100, 10_000).default(d.endSilenceMs),
  VAD_PRE_ROLL_MS: intIn(0, 2000).default(d.preRollMs),
  VAD_POST_ROLL_MS: intIn(0, 2000).default(d.postRollMs),
  VAD_SKIP_START_MS: intIn(0, 60_000).default(d.skipStartMs),
  VAD_MIN_UTTERANCE_MS: intIn(0, 5000).default(d.minUtteranceMs),
  VAD_MAX_UTTERANCE_MS: intIn(2000, 60_000).default(d.maxUtteranceMs),
};

type SegmenterEnv = z.infer<z.ZodObject<typeof segmenterEnv>>;

export function segmenterSetup(e: SegmenterEnv): Required<SegmenterOptions> {
  return {
    vadMode: e.VAD_MODE as VadMode,
    onsetMs: e.VAD_ONSET_MS,
    endSilenceMs: e.VAD_END_SILENCE_MS,
    preRollMs: e.VAD_PRE_ROLL_MS,
    postRollMs: e.VAD_POST_ROLL_MS,
    skipStartMs: e.VAD_SKIP_START_MS,
    minUtteranceMs: e.VAD_MIN_UTTERANCE_MS,
    maxUtteranceMs: e.VAD_MAX_UTTERANCE_MS,
  };
}
