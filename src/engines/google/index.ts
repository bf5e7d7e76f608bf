/**
 * The `google` engine: Google Speech-to-Text v2 streaming recognition, one stream per channel,
 * PCM16 (LINEAR16) at 8 kHz as the product's design asks. Only this folder imports the SDK.
 *
 * Requests are written whole to `client._streamingRecognize()`: the SDK's public
 * `streamingRecognize()` helper is v1-shaped and silently drops the recognizer and the audio.
 */
import type { Duplex } from 'node:stream';
import { credentials as grpcCredentials } from '@grpc/grpc-js';
import { v2 } from '@google-cloud/speech';
import type { EngineStreamOptions, SpeechEngine } from '../types.js';
import { MODEL_FEATURES, modelWarnings } from './models.js';
import type { GoogleEngineOptions } from './options.js';
import { createClientPool } from './pool.js';
import { openGoogleStream } from './stream.js';

export interface GoogleEngine extends SpeechEngine {
  /** HTTP/2 connections opened and streams open, for stats. */
  readonly connections: { readonly size: number; readonly active: number };
  close(): Promise<void>;
}

type SpeechClient = InstanceType<typeof v2.SpeechClient>;

export function createGoogleEngine(options: GoogleEngineOptions): GoogleEngine {
  const features = MODEL_FEATURES[options.model];
  const recognizer = `projects/${options.projectId}/locations/${options.location}/recognizers/_`;
  const [host, portText] = splitHostPort(options.endpoint);

  const pool = createClientPool<SpeechClient>(
    (index) =>
      new v2.SpeechClient({
        apiEndpoint: host,
        port: portText ? Number(portText) : 443,
        projectId: options.projectId,
        // Given explicitly, so the auth library never probes the GCE metadata server.
        universeDomain: 'googleapis.com',
        ...(options.insecure
          ? { sslCreds: grpcCredentials.createInsecure() }
          : { credentials: { client_email: options.credentials!.client_email, private_key: options.credentials!.private_key } }),
        // Each client its own HTTP/2 connection (grpc-js shares them between clients otherwise).
        'grpc.use_local_subchannel_pool': 1,
        'grpc-node.pool_index': index,
        'grpc.keepalive_time_ms': 30_000,
        'grpc.keepalive_timeout_ms': 10_000,
        // grpc-js would keep every audio message of a call for a transparent retry; failed streams
        // are restarted by the channel pipeline with its own replay, so that copy is waste.
        'grpc.enable_retries': 0,
      } as ConstructorParameters<typeof v2.SpeechClient>[0]),
    (client) => client.close(),
    options.streamsPerConnection,
  );

  function firstRequest(so: EngineStreamOptions): object {
    const phrases = so.phrases && features.adaptation ? so.phrases : [];
    return {
      recognizer,
      streamingConfig: {
        config: {
          explicitDecodingConfig: { encoding: 'LINEAR16', sampleRateHertz: so.sampleRate, audioChannelCount: 1 },
          model: options.model,
          languageCodes: [so.language],
          features: {
            enableAutomaticPunctuation: true,
            enableWordTimeOffsets: features.wordTimes,
            enableWordConfidence: features.wordConfidence,
          },
          ...(phrases.length > 0
            ? { adaptation: { phraseSets: [{ inlinePhraseSet: { phrases: phrases.map((value) => ({ value, boost: options.phraseBoost })) } }] } }
            : {}),
        },
        // Voice activity events tell the engine when audio is silence, so the replay kept for a
        // restart can be dropped during long silences rather than held until the next final.
        streamingFeatures: { interimResults: so.interimResults, enableVoiceActivityEvents: true },
      },
    };
  }

  const voiceEvents = { seen: false };
  return {
    name: 'google',
    capabilities: {
      interimResults: true,
      wordTimes: features.wordTimes,
      wordConfidence: features.wordConfidence,
      maxStreamMs: options.streamLimitMs,
      restartable: true,
    },
    ...(features.languages ? { languages: features.languages } : {}),
    warnings: modelWarnings(options.model, options.location),
    connections: pool,
    openStream: (so) =>
      openGoogleStream(
        {
          acquire: () => pool.acquire() as ReturnType<typeof pool.acquire> & { client: { _streamingRecognize(): Duplex } },
          firstRequest,
          defaultConfidence: options.defaultConfidence,
          project: options.projectId,
          voiceEvents,
          ...(options.idleEndMs !== undefined ? { idleEndMs: options.idleEndMs } : {}),
          ...(options.settleAfterMs !== undefined ? { settleAfterMs: options.settleAfterMs } : {}),
        },
        so,
      ),
    close: () => pool.close(),
    stats: () => ({ connections: pool.size, streams: pool.active }),
  };
}

function splitHostPort(endpoint: string): [string, string | undefined] {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(endpoint);
  return m ? [m[1]!.replace(/^\[|\]$/g, ''), m[2]] : [endpoint, undefined];
}
