/**
 * What each Speech-to-Text v2 model can do in streaming recognition, so the engine asks only for
 * features the model has and declares capabilities that tell the truth.
 */
import type { GoogleModel } from './options.js';

export interface ModelFeatures {
  /** Streaming recognition is offered at all (chirp 1 is batch and short-audio only). */
  streaming: boolean;
  /** Inline phrase sets (speech adaptation). */
  adaptation: boolean;
  wordTimes: boolean;
  /** Per-word confidence; the chirp models report 0 for every confidence. */
  wordConfidence: boolean;
  /** Locations that serve the model (from Google's model pages; checked only to warn at start). */
  locations: readonly string[];
  /**
   * Languages the model streams in, where Google's model page lists them; absent where the list is
   * long and changes by location (Google refuses an unsupported one at the first stream).
   */
  languages?: readonly string[];
}

/** Chirp 2's StreamingRecognize languages (its batch list is far longer). */
const CHIRP_2_STREAMING = [
  'cmn-Hans-CN', 'cmn-Hant-TW', 'yue-Hant-HK', 'en-AU', 'en-IN', 'en-GB', 'en-US', 'fr-CA',
  'fr-FR', 'de-DE', 'it-IT', 'ja-JP', 'ko-KR', 'pt-BR', 'es-ES', 'es-US',
] as const;

export const MODEL_FEATURES: Readonly<Record<GoogleModel, ModelFeatures>> = {
  chirp_2: {
    streaming: true,
    adaptation: true,
    wordTimes: true,
    wordConfidence: false,
    locations: ['us-central1', 'europe-west4', 'asia-southeast1'],
    languages: CHIRP_2_STREAMING,
  },
  chirp_3: { streaming: true, adaptation: true, wordTimes: true, wordConfidence: false, locations: ['us', 'eu', 'asia-northeast1', 'asia-southeast1', 'asia-south1', 'europe-west2', 'europe-west3', 'northamerica-northeast1'] },
  chirp: { streaming: false, adaptation: false, wordTimes: true, wordConfidence: false, locations: ['us-central1', 'europe-west4', 'asia-southeast1'] },
  telephony: { streaming: true, adaptation: true, wordTimes: true, wordConfidence: true, locations: [] },
  long: { streaming: true, adaptation: true, wordTimes: true, wordConfidence: true, locations: [] },
};

/** Start-up warnings for a model/location pair Google is not known to serve (empty list = many). */
export function modelWarnings(model: GoogleModel, location: string): string[] {
  const f = MODEL_FEATURES[model];
  const warnings: string[] = [];
  if (!f.streaming) warnings.push(`GOOGLE_SPEECH_MODEL=${model} is not offered for streaming recognition; Google will refuse the streams (use chirp_2 or chirp_3)`);
  if (f.locations.length > 0 && !f.locations.includes(location)) {
    warnings.push(`GOOGLE_SPEECH_MODEL=${model} is served in ${f.locations.join(', ')}; GOOGLE_SPEECH_LOCATION=${location} may refuse it`);
  }
  return warnings;
}
