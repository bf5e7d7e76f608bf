/**
 * A fake Google Cloud Text-to-Speech v1 gRPC service (SynthesizeSpeech) for tests: it validates
 * requests as the real one does (INVALID_ARGUMENT with its wording), and answers LINEAR16 or MULAW
 * audio with a WAV header in front, as the real service does, made by running `flite` on the
 * text (so tests get real speech). Faults are injected on demand; every request is recorded.
 * Tests run the real @google-cloud/text-to-speech client against it with insecure credentials.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { encodeMulaw } from '../../audio/mulaw.js';
import { resampleLinear, writeWav } from '../../audio/wav.js';
import { runFlite } from '../../synthesis/flite/index.js';

/** A request as proto-loader decodes it (camelCase, enums as names). */
export interface FakeTtsRequest {
  input?: { text?: string; ssml?: string; markup?: string };
  voice?: { languageCode?: string; name?: string; ssmlGender?: string };
  audioConfig?: { audioEncoding?: string; sampleRateHertz?: number; speakingRate?: number };
}

export interface FakeTtsFault {
  code: grpc.status;
  message?: string;
}

export interface FakeGoogleTtsOptions {
  port?: number;
  /** flite binary and voice that make the audio (default `flite`, `kal16`). */
  flite?: { binary?: string; voice?: string };
  /** Delay before each answer, ms. */
  delayMs?: number;
}

export interface FakeGoogleTts {
  readonly address: string;
  readonly port: number;
  readonly requests: FakeTtsRequest[];
  /** Bytes of the WAV data chunk of each answer, in order. */
  readonly answeredDataBytes: number[];
  /** The next `count` requests fail with this status. */
  failNext(fault: FakeTtsFault, count?: number): void;
  /** Every request fails with this status until called with null. */
  rejectAll(fault: FakeTtsFault | null): void;
  close(): Promise<void>;
}

const MAX_INPUT_BYTES = 5000;
const DEFAULT_MESSAGES: Partial<Record<grpc.status, string>> = {
  [grpc.status.UNAVAILABLE]: 'The service is currently unavailable.',
  [grpc.status.PERMISSION_DENIED]: 'Cloud Text-to-Speech API has not been used in project 0 before or it is disabled.',
  [grpc.status.UNAUTHENTICATED]: 'Request had invalid authentication credentials.',
  [grpc.status.RESOURCE_EXHAUSTED]: 'Quota exceeded for quota metric of service texttospeech.googleapis.com.',
};

function loadTtsService(): grpc.ServiceDefinition {
  const require = createRequire(import.meta.url);
  const ttsPkg = require.resolve('@google-cloud/text-to-speech/package.json');
  // google-gax (the SDK's own dependency) ships google/api, longrunning, rpc and protobuf.
  const gaxMain = createRequire(ttsPkg).resolve('google-gax');
  const def = protoLoader.loadSync('google/cloud/texttospeech/v1/cloud_tts.proto', {
    includeDirs: [join(dirname(ttsPkg), 'build', 'protos'), join(dirname(gaxMain), '..', 'protos')],
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  return def['google.cloud.texttospeech.v1.TextToSpeech'] as grpc.ServiceDefinition;
}

/** Why the real service would refuse the request (its wording), or undefined. */
export function validateTtsRequest(req: FakeTtsRequest): string | undefined {
  const text = req.input?.text ?? req.input?.ssml ?? req.input?.markup;
  if (!req.input || text === undefined || text === '') return 'Either `input.text` or `input.ssml` or `input.markup` needs to be set.';
  if (Buffer.byteLength(text, 'utf8') > MAX_INPUT_BYTES) return `Either \`input.text\` or \`input.ssml\` is longer than the limit of ${MAX_INPUT_BYTES} bytes.`;
  if (!req.voice?.languageCode) return 'Voice language_code must be specified.';
  if (!/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/i.test(req.voice.languageCode)) return `Invalid language_code: ${req.voice.languageCode}`;
  const encoding = req.audioConfig?.audioEncoding;
  if (!encoding || encoding === 'AUDIO_ENCODING_UNSPECIFIED') return 'Unsupported audio encoding: AUDIO_ENCODING_UNSPECIFIED.';
  if (encoding !== 'LINEAR16' && encoding !== 'MULAW') return `This fake only makes LINEAR16 and MULAW, not ${encoding}.`;
  const rate = req.audioConfig?.sampleRateHertz;
  if (rate !== undefined && rate !== 0 && (rate < 8000 || rate > 48000)) return `Invalid sample_rate_hertz: ${rate}.`;
  return undefined;
}

export async function startFakeGoogleTts(options: FakeGoogleTtsOptions = {}): Promise<FakeGoogleTts> {
  const requests: FakeTtsRequest[] = [];
  const answeredDataBytes: number[] = [];
  const faults: FakeTtsFault[] = [];
  let rejection: FakeTtsFault | null = null;
  const binary = options.flite?.binary ?? 'flite';
  const voice = options.flite?.voice ?? 'kal16';
  const closing = new AbortController();

  const fail = (cb: grpc.sendUnaryData<object>, fault: FakeTtsFault) =>
    cb({ code: fault.code, details: fault.message ?? DEFAULT_MESSAGES[fault.code] ?? `Injected ${grpc.status[fault.code]}` } as grpc.ServiceError, null);

  async function synthesizeSpeech(call: grpc.ServerUnaryCall<FakeTtsRequest, object>, cb: grpc.sendUnaryData<object>): Promise<void> {
    const req = call.request;
    requests.push(req);
    const fault = rejection ?? faults.shift();
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
    if (fault) return fail(cb, fault);
    const problem = validateTtsRequest(req);
    if (problem) return fail(cb, { code: grpc.status.INVALID_ARGUMENT, message: problem });
    const text = req.input!.text ?? (req.input!.ssml ?? req.input!.markup ?? '').replace(/<[^>]*>/g, ' ');
    let wav;
    try {
      wav = await runFlite(binary, voice, text, closing.signal);
    } catch (err) {
      return fail(cb, { code: grpc.status.INTERNAL, message: `fake: flite failed: ${(err as Error).message}` });
    }
    // The real service answers at its voice's natural rate (24 kHz) when none is asked for.
    const rate = req.audioConfig?.sampleRateHertz || 24_000;
    const pcm = resampleLinear(new Int16Array(wav.data.buffer.slice(wav.data.byteOffset, wav.data.byteOffset + wav.data.byteLength)), wav.sampleRate, rate);
    const mulaw = req.audioConfig!.audioEncoding === 'MULAW';
    const data = mulaw ? encodeMulaw(pcm) : new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    answeredDataBytes.push(data.length);
    cb(null, { audioContent: Buffer.from(writeWav({ sampleRate: rate, channels: 1, format: mulaw ? 'PCMU' : 'L16', data })) });
  }

  const server = new grpc.Server();
  server.addService(loadTtsService(), {
    SynthesizeSpeech: ((call, cb) => void synthesizeSpeech(call, cb)) as grpc.handleUnaryCall<FakeTtsRequest, object>,
    ListVoices: ((_call, cb) => cb(null, { voices: [{ languageCodes: ['en-US'], name: 'en-US-Standard-C', ssmlGender: 'FEMALE', naturalSampleRateHertz: 24000 }] })) as grpc.handleUnaryCall<object, object>,
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });

  return {
    address: `127.0.0.1:${port}`,
    port,
    requests,
    answeredDataBytes,
    failNext(fault, count = 1) {
      for (let i = 0; i < count; i++) faults.push(fault);
    },
    rejectAll(fault) {
      rejection = fault;
    },
    close() {
      closing.abort();
      return new Promise((resolve) => {
        server.forceShutdown();
        setImmediate(resolve);
      });
    },
  };
}
