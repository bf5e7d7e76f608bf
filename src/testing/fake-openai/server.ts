/**
 * A fake OpenAI-compatible transcription server for tests and benchmarks (node:http, 127.0.0.1):
 * `POST /v1/audio/transcriptions` answered as the real API does — an SSE stream of
 * `transcript.text.delta` / `transcript.text.done` events with `stream=true` (logprobs when
 * `include[]=logprobs`), JSON `{text}` otherwise, `verbose_json` with `words` for word
 * timestamps. What it "hears" is a function of the request; faults are injected on demand and
 * every request is recorded.
 *
 * `POST /v1/audio/speech` (text to speech) too: JSON validated as OpenAI does, and for
 * `response_format: pcm` 24 kHz s16le speech made by `flite` (upsampled), streamed in pieces of
 * an odd byte count so clients meet samples split across chunks.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseWav, resampleLinear, writeWav } from '../../audio/wav.js';
import { runFlite } from '../../synthesis/flite/index.js';

export interface FakeTranscriptionRequest {
  /** 0-based, in arrival order (failed ones included). */
  index: number;
  authorization: string | undefined;
  model: string;
  language?: string;
  prompt?: string;
  include: string[];
  temperature?: number;
  stream: boolean;
  responseFormat?: string;
  timestampGranularities: string[];
  sampleRate: number;
  durationMs: number;
  samples: Int16Array;
}

export interface FakeHearing {
  text: string;
  /** Probability given to every token (default 0.9), or per token. */
  probability?: number | ((token: string, index: number) => number);
  /** Wait before answering, ms (out-of-order completion). */
  delayMs?: number;
}

export interface FakeSpeechRequest {
  index: number;
  authorization: string | undefined;
  /** The JSON body as sent. */
  body: Record<string, unknown>;
}

/** `truncate`: a speech answer that stops halfway (connection dropped). */
export type FakeFault = { kind: 'truncate' } | { kind: 'rate-limit'; retryAfterMs?: number } | { kind: 'server-error' } | { kind: 'hang' } | { kind: 'unauthorized' } | { kind: 'bad-request'; code?: string } | { kind: 'insufficient-quota' };

export interface FakeOpenAIOptions {
  /** Default 0 (any free port). */
  port?: number;
  /** Requests recorded for assertions; a long-running process (the benchmark) turns it off. Default true. */
  record?: boolean;
  /** Expected bearer key (default `test-key`); `null` accepts any. */
  apiKey?: string | null;
  /** Default: a queued text if any, else `utterance N` (N = 1 + answered requests). */
  hear?: (request: FakeTranscriptionRequest) => string | FakeHearing;
  /** Speech answers: flite voice (default kal16), piece size (default 4801 bytes) and pause between pieces (default 5 ms). */
  speech?: { fliteBinary?: string; voice?: string; chunkBytes?: number; chunkDelayMs?: number };
}

export interface FakeOpenAI {
  /** Base URL for the SDK, ending in `/v1`. */
  readonly baseURL: string;
  readonly requests: FakeTranscriptionRequest[];
  readonly speechRequests: FakeSpeechRequest[];
  /** Requests received (recorded or not). */
  readonly received: number;
  /** Texts the next successful requests hear, in order. */
  queue(...hearings: (string | FakeHearing)[]): void;
  /** The next `count` requests (that pass the key check) fail this way. */
  fail(fault: FakeFault, count?: number): void;
  /** Forgets queued texts and pending faults. */
  reset(): void;
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

const apiError = (res: ServerResponse, status: number, message: string, type: string, code: string | null, headers?: Record<string, string>) =>
  json(res, status, { error: { message, type, param: null, code } }, headers);

/** Splits text into tokens as a BPE tokenizer roughly would: leading space kept, up to 4 characters. */
export function fakeTokens(text: string): string[] {
  const out: string[] = [];
  for (const word of text.match(/\s*\S+/g) ?? []) {
    const lead = word.match(/^\s*/)?.[0] ?? '';
    const body = word.slice(lead.length);
    for (let i = 0; i < body.length; i += 4) out.push((i === 0 ? lead : '') + body.slice(i, i + 4));
  }
  return out;
}

export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const apiKey = options.apiKey === undefined ? 'test-key' : options.apiKey;
  const requests: FakeTranscriptionRequest[] = [];
  const speechRequests: FakeSpeechRequest[] = [];
  const queued: (string | FakeHearing)[] = [];
  const faults: FakeFault[] = [];
  let answered = 0;
  let received = 0;

  const hear = options.hear ?? (() => queued.shift() ?? `utterance ${answered + 1}`);

  const SPEECH_FORMATS = ['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm'];
  async function handleSpeech(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const authorization = req.headers.authorization;
    const index = received++;
    if (apiKey !== null && authorization !== `Bearer ${apiKey}`) return apiError(res, 401, 'Incorrect API key provided', 'invalid_request_error', 'invalid_api_key');
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      body = parsed as Record<string, unknown>;
    } catch {
      return apiError(res, 400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null);
    }
    if (options.record !== false) speechRequests.push({ index, authorization, body });
    const invalid = (param: string, message: string) => json(res, 400, { error: { message, type: 'invalid_request_error', param, code: 'invalid_value' } });
    if (typeof body['model'] !== 'string' || body['model'] === '') return invalid('model', "Missing required parameter: 'model'.");
    if (typeof body['input'] !== 'string' || body['input'] === '') return invalid('input', "Missing required parameter: 'input'.");
    if (body['input'].length > 4096) return invalid('input', "Invalid 'input': string too long. Expected a string with maximum length 4096.");
    if (typeof body['voice'] !== 'string' || body['voice'] === '') return invalid('voice', "Missing required parameter: 'voice'.");
    const format = body['response_format'] ?? 'mp3';
    if (typeof format !== 'string' || !SPEECH_FORMATS.includes(format)) return invalid('response_format', `Invalid value for 'response_format': '${String(format)}'.`);
    if (format !== 'pcm' && format !== 'wav') return invalid('response_format', `This fake makes only pcm and wav, not '${format}'.`);

    const fault = faults.shift();
    if (fault && fault.kind !== 'truncate') return answerFault(res, fault);
    const wav = await runFlite(options.speech?.fliteBinary ?? 'flite', options.speech?.voice ?? 'kal16', body['input'], AbortSignal.timeout(30_000));
    const pcm = resampleLinear(new Int16Array(wav.data.buffer.slice(wav.data.byteOffset, wav.data.byteOffset + wav.data.byteLength)), wav.sampleRate, 24_000);
    const bytes = new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    const audio = format === 'wav' ? writeWav({ sampleRate: 24_000, channels: 1, format: 'L16', data: bytes }) : bytes;
    res.writeHead(200, { 'content-type': format === 'wav' ? 'audio/wav' : 'audio/pcm', 'transfer-encoding': 'chunked' });
    const size = options.speech?.chunkBytes ?? 4801;
    const end = fault ? Math.floor(audio.length / 2) : audio.length;
    for (let at = 0; at < end; at += size) {
      if (res.destroyed) return;
      res.write(audio.subarray(at, Math.min(end, at + size)));
      await new Promise((r) => setTimeout(r, options.speech?.chunkDelayMs ?? 5));
    }
    if (fault) return void res.destroy();
    res.end();
  }

  function answerFault(res: ServerResponse, fault: FakeFault): void {
    switch (fault.kind) {
      case 'rate-limit':
        return apiError(res, 429, 'Rate limit reached', 'requests', 'rate_limit_exceeded', {
          'retry-after-ms': String(fault.retryAfterMs ?? 10),
          'retry-after': String(Math.ceil((fault.retryAfterMs ?? 10) / 1000)),
        });
      case 'insufficient-quota':
        return apiError(res, 429, 'You exceeded your current quota', 'insufficient_quota', 'insufficient_quota');
      case 'server-error':
      case 'truncate':
        return apiError(res, 500, 'The server had an error', 'server_error', null);
      case 'unauthorized':
        return apiError(res, 401, 'Incorrect API key provided', 'invalid_request_error', 'invalid_api_key');
      case 'bad-request':
        return apiError(res, 400, 'Invalid request', 'invalid_request_error', fault.code ?? 'invalid_value');
      case 'hang':
        return; // never answers; the client's timeout ends it (close() drops the socket)
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'POST' && req.url?.split('?')[0] === '/v1/audio/speech') return handleSpeech(req, res);
    if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/audio/transcriptions') return apiError(res, 404, 'not found', 'invalid_request_error', null);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const authorization = req.headers.authorization;
    const index = received++;
    if (apiKey !== null && authorization !== `Bearer ${apiKey}`) return apiError(res, 401, 'Incorrect API key provided', 'invalid_request_error', 'invalid_api_key');
    // Multipart parsing by the platform's own Fetch implementation.
    const form = await new Response(Buffer.concat(chunks), { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
    const file = form.get('file');
    if (!(file instanceof Blob)) return apiError(res, 400, 'file is required', 'invalid_request_error', null);
    let audio;
    try {
      audio = parseWav(new Uint8Array(await file.arrayBuffer()));
    } catch (err) {
      return apiError(res, 400, `Invalid file format: ${(err as Error).message}`, 'invalid_request_error', 'invalid_value');
    }
    if (audio.format !== 'L16' || audio.channels !== 1 || (audio.sampleRate !== 8000 && audio.sampleRate !== 16000)) {
      return apiError(res, 400, 'expected 16-bit mono WAV at 8 or 16 kHz', 'invalid_request_error', 'invalid_value');
    }
    const samples = new Int16Array(audio.data.buffer.slice(audio.data.byteOffset, audio.data.byteOffset + audio.data.byteLength));
    const str = (name: string) => (typeof form.get(name) === 'string' ? (form.get(name) as string) : undefined);
    const temperature = str('temperature');
    const request: FakeTranscriptionRequest = {
      index,
      authorization,
      model: str('model') ?? '',
      ...(str('language') !== undefined ? { language: str('language')! } : {}),
      ...(str('prompt') !== undefined ? { prompt: str('prompt')! } : {}),
      include: form.getAll('include[]').map(String),
      ...(temperature !== undefined ? { temperature: Number(temperature) } : {}),
      stream: str('stream') === 'true',
      ...(str('response_format') !== undefined ? { responseFormat: str('response_format')! } : {}),
      timestampGranularities: form.getAll('timestamp_granularities[]').map(String),
      sampleRate: audio.sampleRate,
      durationMs: (samples.length * 1000) / audio.sampleRate,
      samples,
    };
    if (options.record !== false) requests.push(request);

    const fault = faults.shift();
    if (fault) return answerFault(res, fault);

    const heard = hear(request);
    const hearing: FakeHearing = typeof heard === 'string' ? { text: heard } : heard;
    answered++;
    if (hearing.delayMs) await new Promise((r) => setTimeout(r, hearing.delayMs));
    if (res.destroyed) return;
    const tokens = fakeTokens(hearing.text);
    const logprobs = tokens.map((token, i) => {
      const p = typeof hearing.probability === 'function' ? hearing.probability(token, i) : (hearing.probability ?? 0.9);
      return { token, logprob: Math.log(p), bytes: [...Buffer.from(token, 'utf8')] };
    });
    const withLogprobs = request.include.includes('logprobs');
    if (request.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const send = (event: unknown) => res.write(`data: ${JSON.stringify(event)}\n\n`);
      tokens.forEach((token, i) => send({ type: 'transcript.text.delta', delta: token, ...(withLogprobs ? { logprobs: [logprobs[i]] } : {}) }));
      send({
        type: 'transcript.text.done',
        text: hearing.text,
        ...(withLogprobs ? { logprobs } : {}),
        usage: { type: 'tokens', input_tokens: Math.ceil(request.durationMs / 100), output_tokens: tokens.length, total_tokens: Math.ceil(request.durationMs / 100) + tokens.length },
      });
      res.end();
      return;
    }
    if (request.responseFormat === 'verbose_json') {
      const words = hearing.text.split(/\s+/).filter((w) => w !== '');
      const step = request.durationMs / 1000 / Math.max(1, words.length);
      return json(res, 200, {
        task: 'transcribe',
        language: request.language ?? 'english',
        duration: request.durationMs / 1000,
        text: hearing.text,
        ...(request.timestampGranularities.includes('word')
          ? { words: words.map((w, i) => ({ word: w.replace(/[.,!?]+$/, ''), start: i * step, end: (i + 1) * step })) }
          : {}),
      });
    }
    return json(res, 200, { text: hearing.text, ...(withLogprobs ? { logprobs } : {}) });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) apiError(res, 500, String(err), 'server_error', null);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    speechRequests,
    get received() {
      return received;
    },
    queue: (...hearings) => void queued.push(...hearings),
    fail: (fault, count = 1) => {
      for (let i = 0; i < count; i++) faults.push(fault);
    },
    reset: () => {
      queued.length = 0;
      faults.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
