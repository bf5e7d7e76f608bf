/**
 * The `google` synthesizer: Google Cloud Text-to-Speech (v1 `SynthesizeSpeech`), asked for 8 kHz
 * µ-law directly so nothing is resampled here. The service puts a WAV header in front of the
 * audio even for MULAW: its RIFF chunks are read to find the data (the header is not a fixed
 * 44 bytes: µ-law WAVs carry an 18-byte fmt and a fact chunk).
 *
 * Only this folder uses the SDK, and it is loaded on first use (`await import`), so a server
 * not configured for Google never loads it.
 */
import { encodeMulaw } from '../../audio/mulaw.js';
import { parseWav, resampleLinear } from '../../audio/wav.js';
import type { ServiceAccount } from '../../engines/google/options.js';
import { checkText, chunked } from '../common.js';
import { SynthesisError, type SpeechSynthesizer, type SynthesisRequest } from '../types.js';

export const GOOGLE_TTS_ENDPOINT = 'texttospeech.googleapis.com';

export interface GoogleSynthesizerOptions {
  /** host[:port] of the Text-to-Speech API. */
  endpoint: string;
  /** Plain-text gRPC without Google auth: local fakes only. */
  insecure: boolean;
  credentials?: ServiceAccount;
  /** Billed and quota-checked project, when not the service account's own. */
  projectId?: string;
  /** Voice when a request names none; unset: Google picks one for the language. */
  voice?: string;
  /** One synthesis's budget, the SDK's retries included, ms. */
  timeoutMs: number;
}

/** The parts of a SynthesizeSpeech response we read. */
interface SynthesizeResponse {
  audioContent?: Uint8Array | string | null;
}

interface TtsClient {
  synthesizeSpeech(request: object, options?: object): Promise<[SynthesizeResponse, ...unknown[]]>;
  close(): Promise<void>;
}

const STATUS_NAMES: Readonly<Record<number, string>> = {
  1: 'CANCELLED', 2: 'UNKNOWN', 3: 'INVALID_ARGUMENT', 4: 'DEADLINE_EXCEEDED', 5: 'NOT_FOUND', 7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED', 10: 'ABORTED', 13: 'INTERNAL', 14: 'UNAVAILABLE', 16: 'UNAUTHENTICATED',
};

/** A gRPC failure as a SynthesisError: credentials, permission and refused input are final. */
export function synthesisErrorFrom(err: unknown): SynthesisError {
  if (err instanceof SynthesisError) return err;
  const e = (err ?? {}) as { code?: unknown; details?: unknown; message?: unknown };
  const code = typeof e.code === 'number' ? e.code : undefined;
  // Google's details name fields and limits, never the input text or a credential.
  const details = String(e.details ?? e.message ?? '').slice(0, 160);
  const cause = { cause: err };
  if (code === undefined && /invalid_grant|unauthorized_client|invalid_client|private key|PEM|DECODER routines/i.test(details)) {
    return new SynthesisError('Google Text-to-Speech credentials could not be used: check GOOGLE_APPLICATION_CREDENTIALS', false, cause);
  }
  switch (code) {
    case 16:
      return new SynthesisError('Google Text-to-Speech rejected the credentials (UNAUTHENTICATED): check GOOGLE_APPLICATION_CREDENTIALS', false, cause);
    case 7:
      return new SynthesisError('Google Text-to-Speech denied access (PERMISSION_DENIED): enable the Text-to-Speech API for the project', false, cause);
    case 3:
      return new SynthesisError(`Google Text-to-Speech refused the request (INVALID_ARGUMENT): ${details}`, false, cause);
    case 5:
      return new SynthesisError(`Google Text-to-Speech voice not found (NOT_FOUND): ${details}`, false, cause);
    case 8:
      return new SynthesisError(`Google Text-to-Speech quota exhausted (RESOURCE_EXHAUSTED): ${details}`, true, cause);
    default: {
      const status = code === undefined ? 'no status' : (STATUS_NAMES[code] ?? `status ${code}`);
      return new SynthesisError(`Google Text-to-Speech failed (${status}): ${details}`, true, cause);
    }
  }
}

/**
 * The µ-law bytes of the service's answer: the WAV's data chunk, or the bytes as they are when
 * there is no RIFF header (the service may drop it one day). 16-bit PCM is converted.
 */
export function mulawFromAnswer(audio: Uint8Array): Uint8Array {
  const isRiff = audio.length >= 12 && audio[0] === 0x52 && audio[1] === 0x49 && audio[2] === 0x46 && audio[3] === 0x46;
  if (!isRiff) return audio;
  let wav;
  try {
    wav = parseWav(audio);
  } catch (err) {
    throw new SynthesisError('Google Text-to-Speech sent an unreadable WAV', true, { cause: err });
  }
  if (wav.channels !== 1) throw new SynthesisError(`Google Text-to-Speech sent ${wav.channels} channels`, false);
  if (wav.format === 'PCMU' && wav.sampleRate === 8000) return wav.data;
  if (wav.format === 'PCMU') throw new SynthesisError(`Google Text-to-Speech sent µ-law at ${wav.sampleRate} Hz`, false);
  const pcm = new Int16Array(wav.data.buffer.slice(wav.data.byteOffset, wav.data.byteOffset + wav.data.byteLength));
  return encodeMulaw(resampleLinear(pcm, wav.sampleRate, 8000));
}

function splitHostPort(endpoint: string): [string, number] {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(endpoint);
  return m ? [m[1]!.replace(/^\[|\]$/g, ''), m[2] ? Number(m[2]) : 443] : [endpoint, 443];
}

export function createGoogleSynthesizer(options: GoogleSynthesizerOptions): SpeechSynthesizer {
  let client: Promise<TtsClient> | undefined;
  let closed = false;

  function getClient(): Promise<TtsClient> {
    client ??= (async () => {
      const [{ v1 }, grpc] = await Promise.all([import('@google-cloud/text-to-speech'), import('@grpc/grpc-js')]);
      const [host, port] = splitHostPort(options.endpoint);
      return new v1.TextToSpeechClient({
        apiEndpoint: host,
        port,
        // Given explicitly, so the auth library never probes the GCE metadata server.
        universeDomain: 'googleapis.com',
        ...(options.projectId ? { projectId: options.projectId } : {}),
        ...(options.insecure
          ? { sslCreds: grpc.credentials.createInsecure() }
          : { credentials: { client_email: options.credentials!.client_email, private_key: options.credentials!.private_key } }),
      } as ConstructorParameters<typeof v1.TextToSpeechClient>[0]) as unknown as TtsClient;
    })();
    return client;
  }

  async function* synthesize(request: SynthesisRequest): AsyncGenerator<Uint8Array> {
    const text = checkText(request.text);
    if (text === '' || request.signal.aborted) return;
    if (closed) throw new SynthesisError('Google Text-to-Speech client is closed', true);
    const voiceName = request.voice ?? options.voice;
    const call = getClient().then((c) =>
      c.synthesizeSpeech(
        {
          input: { text },
          voice: { languageCode: request.language, ...(voiceName ? { name: voiceName } : {}) },
          audioConfig: { audioEncoding: 'MULAW', sampleRateHertz: 8000 },
        },
        { timeout: options.timeoutMs },
      ),
    );
    // The SDK's promise cannot be cancelled: an abort stops waiting for it; the answer is dropped.
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<undefined>((resolve) => {
      onAbort = () => resolve(undefined);
      request.signal.addEventListener('abort', onAbort, { once: true });
    });
    let response: SynthesizeResponse | undefined;
    try {
      const answer = await Promise.race([call, aborted]);
      if (!answer) {
        call.catch(() => undefined);
        return;
      }
      response = answer[0];
    } catch (err) {
      if (request.signal.aborted) return;
      throw synthesisErrorFrom(err);
    } finally {
      request.signal.removeEventListener('abort', onAbort!);
    }
    const content = response.audioContent;
    const bytes = typeof content === 'string' ? Buffer.from(content, 'base64') : (content ?? new Uint8Array(0));
    for (const chunk of chunked(mulawFromAnswer(bytes))) {
      if (request.signal.aborted) return;
      yield chunk;
    }
  }

  return {
    name: 'google',
    synthesize,
    async close() {
      closed = true;
      const c = client;
      client = undefined;
      if (c) await (await c.catch(() => undefined))?.close();
    },
  };
}
