/**
 * The wire side of the fake Google Speech v2 service: loading the service definition from the
 * protos shipped in the SDK, validating a call's first request as the real service does, and
 * shaping recognizer events into StreamingRecognitionResult objects. Pure apart from loading.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { RecognizerEvent } from './recognizer.js';

/** A request as proto-loader decodes it with the options in loadSpeechService (camelCase). */
export interface DecodedRequest {
  recognizer?: string;
  streamingConfig?: DecodedStreamingConfig;
  audio?: Buffer;
}

export interface DecodedStreamingConfig {
  config?: {
    explicitDecodingConfig?: { encoding?: string; sampleRateHertz?: number; audioChannelCount?: number };
    autoDecodingConfig?: object;
    model?: string;
    languageCodes?: string[];
    features?: {
      enableWordTimeOffsets?: boolean;
      enableWordConfidence?: boolean;
      enableAutomaticPunctuation?: boolean;
    };
    adaptation?: object;
  };
  streamingFeatures?: { interimResults?: boolean; enableVoiceActivityEvents?: boolean };
}

export const MAX_CHUNK_BYTES = 15_360;
export const MODELS: ReadonlySet<string> = new Set(['chirp_2', 'chirp_3', 'chirp', 'telephony', 'long', 'latest_long', 'latest_short']);
const CHIRP = new Set(['chirp', 'chirp_2', 'chirp_3']);
const RECOGNIZER_NAME = /^projects\/([^/]+)\/locations\/([^/]+)\/recognizers\/([^/]+)$/;

export function loadSpeechService(): grpc.ServiceDefinition {
  const require = createRequire(import.meta.url);
  const speechPkg = require.resolve('@google-cloud/speech/package.json');
  // google-gax (the SDK's own dependency) ships google/api, longrunning, rpc and protobuf.
  const gaxMain = createRequire(speechPkg).resolve('google-gax');
  // camelCase as the SDK uses; enums as names, int64 as numbers, unset fields left undefined.
  const def = protoLoader.loadSync('google/cloud/speech/v2/cloud_speech.proto', {
    includeDirs: [join(dirname(speechPkg), 'build', 'protos'), join(dirname(gaxMain), '..', 'protos')],
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  return def['google.cloud.speech.v2.Speech'] as grpc.ServiceDefinition;
}

/** Messages of the real service for the statuses tests inject most. */
export const DEFAULT_MESSAGES: Partial<Record<grpc.status, string>> = {
  [grpc.status.UNAVAILABLE]: 'The service is currently unavailable.',
  [grpc.status.INTERNAL]: 'Internal error encountered.',
  [grpc.status.RESOURCE_EXHAUSTED]: 'Quota exceeded for quota metric of service speech.googleapis.com.',
  [grpc.status.UNAUTHENTICATED]: 'Request had invalid authentication credentials.',
  [grpc.status.PERMISSION_DENIED]: 'The caller does not have permission',
  [grpc.status.DEADLINE_EXCEEDED]: 'Deadline Exceeded',
  [grpc.status.ABORTED]: 'The operation was aborted.',
};

export const MESSAGES = {
  audioTimeout: 'Audio Timeout Error: Long duration elapsed without audio. Audio should be sent close to real time.',
  streamLimit: (seconds: number) => `Exceeded maximum allowed stream duration of ${seconds} seconds.`,
  chunkTooLarge: (bytes: number) =>
    `Audio chunk can be of a a maximum of ${MAX_CHUNK_BYTES} bytes. Received audio of ${bytes} bytes instead.`,
  configAgain: 'Malordered Data Received. Expected audio but got a config. Send exactly one config, followed by audio data.',
};

/** The reason a call's first request is refused, worded as the real service does; undefined if valid. */
export function validateFirstRequest(req: DecodedRequest, location: string | undefined): string | undefined {
  const name = RECOGNIZER_NAME.exec(req.recognizer ?? '');
  if (!name) return 'Invalid resource field value in the request.';
  if (location !== undefined && name[2] !== location) {
    return `Expected resource location to be ${location}, but found ${name[2]} in resource name.`;
  }
  if (req.audio !== undefined || !req.streamingConfig) {
    return 'Malordered Data Received. Expected config but got audio. Send exactly one config, followed by audio data.';
  }
  if (name[3] !== '_') return undefined; // a stored recognizer supplies what the request leaves out
  const config = req.streamingConfig.config;
  if (!config) return 'Invalid StreamingRecognitionConfig: config is required for the implicit recognizer "_".';
  const model = config.model ?? '';
  if (!model) return 'Invalid RecognitionConfig: model is required; set it in the request or in the recognizer.';
  if (!MODELS.has(model)) return `The model "${model}" does not exist in the location named "${name[2]}".`;
  if (!config.languageCodes?.length) return 'Invalid RecognitionConfig: at least one language code is required.';
  // Chirp 2 and 3 take inline phrase sets; the first chirp model does not.
  if (model === 'chirp' && config.adaptation) return 'Recognizer does not support feature: speech_adaptation';
  const explicit = config.explicitDecodingConfig;
  if (!explicit && !config.autoDecodingConfig) {
    return 'Invalid RecognitionConfig: one of explicit_decoding_config or auto_decoding_config is required.';
  }
  if (explicit) {
    if (explicit.encoding !== 'LINEAR16' && explicit.encoding !== 'MULAW') {
      return `Invalid ExplicitDecodingConfig: encoding ${explicit.encoding ?? 'AUDIO_ENCODING_UNSPECIFIED'} is not supported for streaming.`;
    }
    const rate = explicit.sampleRateHertz ?? 0;
    if (rate < 8000 || rate > 48000) {
      return `Invalid ExplicitDecodingConfig: sample_rate_hertz must be between 8000 and 48000, got ${rate}.`;
    }
    if (explicit.audioChannelCount !== 1) {
      return `Invalid ExplicitDecodingConfig: audio_channel_count must be 1 for streaming, got ${explicit.audioChannelCount ?? 0}.`;
    }
  }
  return undefined;
}

/** What a validated call asked for, as far as recognition and results go. */
export interface CallSettings {
  encoding: 'LINEAR16' | 'MULAW';
  sampleRate: number;
  interim: boolean;
  /** SPEECH_ACTIVITY_BEGIN/END events were asked for (`enable_voice_activity_events`). */
  voiceActivityEvents: boolean;
  languageCode: string;
  chirp: boolean;
  wordTimes: boolean;
  wordConfidence: boolean;
  punctuation: boolean;
}

export function callSettings(streamingConfig: DecodedStreamingConfig | undefined): CallSettings {
  const config = streamingConfig?.config ?? {};
  const features = config.features ?? {};
  const explicit = config.explicitDecodingConfig;
  return {
    // Auto decoding (and a stored recognizer without one) is taken as raw LINEAR16 at 8 kHz.
    encoding: explicit?.encoding === 'MULAW' ? 'MULAW' : 'LINEAR16',
    sampleRate: explicit?.sampleRateHertz ?? 8000,
    interim: streamingConfig?.streamingFeatures?.interimResults === true,
    voiceActivityEvents: streamingConfig?.streamingFeatures?.enableVoiceActivityEvents === true,
    // The real service answers in lower case (en-US → en-us).
    languageCode: (config.languageCodes?.[0] ?? 'en-US').toLowerCase(),
    chirp: CHIRP.has(config.model ?? 'long'),
    wordTimes: features.enableWordTimeOffsets === true,
    wordConfidence: features.enableWordConfidence === true,
    punctuation: features.enableAutomaticPunctuation === true,
  };
}

export const duration = (ms: number): { seconds: number; nanos: number } => {
  const whole = Math.max(0, Math.round(ms));
  return { seconds: Math.floor(whole / 1000), nanos: (whole % 1000) * 1_000_000 };
};

/** A StreamingRecognitionResult (camelCase, for proto-loader to encode) for one recognizer event. */
export function toResult(ev: Extract<RecognizerEvent, { kind: 'interim' | 'final' }>, s: CallSettings): object {
  const final = ev.kind === 'final';
  const tokens = ev.words.map((w, i) => {
    let t = w.word;
    if (s.punctuation && i === 0) t = t.charAt(0).toUpperCase() + t.slice(1);
    if (s.punctuation && final && i === ev.words.length - 1) t += '.';
    return t;
  });
  // Chirp models report no confidence at all (0), for results and words alike.
  const confidence = s.chirp ? 0 : 0.92;
  const words = final && (s.wordTimes || s.wordConfidence)
    ? ev.words.map((w, i) => ({
        ...(s.wordTimes ? { startOffset: duration(w.startMs), endOffset: duration(w.endMs) } : {}),
        word: tokens[i],
        confidence: s.wordConfidence ? confidence : 0,
      }))
    : [];
  return {
    alternatives: [{ transcript: tokens.join(' '), confidence: final ? confidence : 0, words }],
    isFinal: final,
    ...(final ? {} : { stability: 0.9 }),
    resultEndOffset: duration(final ? ev.endMs : ev.atMs),
    languageCode: s.languageCode,
  };
}
