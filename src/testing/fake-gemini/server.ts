/**
 * A local stand-in for the Gemini API's `models/*:generateContent` (REST, v1beta), for tests and
 * the translation benchmark: the real SDK is pointed at it with `GEMINI_BASE_URL`.
 *
 * It "translates" deterministically: the request's JSON user message (see
 * translation/gemini/prompt.ts) comes back as `[<target>] <text>`, with glossary terms replaced by
 * their translations, as a structured-output answer `{"translation": "…"}`. Delays and failures
 * (429 with Google's RetryInfo hint, 5xx) are scriptable per request; every request is recorded.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeGeminiRequest {
  model: string;
  apiKey: string | undefined;
  /** The request body as the SDK sent it. */
  body: Record<string, any>;
  /** The parsed JSON user message: source, target, text, context, glossary. */
  message: { source?: string; target?: string; text?: string; context?: Array<{ speaker: string; text: string }>; glossary?: Record<string, string> };
  /** 1 for the first request with this text, 2 for its retry… */
  attempt: number;
  receivedAt: number;
}

export interface FakeGeminiFailure {
  status: number;
  /** Google's RetryInfo `retryDelay`, in seconds. */
  retryDelaySeconds?: number;
}

export interface FakeGeminiBehaviour {
  /** How long to take before answering (default 0). */
  delayMs?(request: FakeGeminiRequest): number;
  /** An error to answer instead (default none). */
  fail?(request: FakeGeminiRequest): FakeGeminiFailure | undefined;
}

export interface FakeGemini {
  /** For GEMINI_BASE_URL. */
  readonly url: string;
  readonly requests: FakeGeminiRequest[];
  behaviour: FakeGeminiBehaviour;
  close(): Promise<void>;
}

const STATUS_NAMES: Record<number, string> = { 400: 'INVALID_ARGUMENT', 403: 'PERMISSION_DENIED', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };

/** @param options.record keep every request in `requests` (tests); off for a long-running process */
export async function startFakeGemini(behaviour: FakeGeminiBehaviour = {}, options: { port?: number; record?: boolean } = {}): Promise<FakeGemini> {
  const record = options.record ?? true;
  const requests: FakeGeminiRequest[] = [];
  const attempts = new Map<string, number>();
  const fake: FakeGemini = { url: '', requests, behaviour, close: async () => {} };

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => reply(res, 500, { error: { code: 500, message: 'fake failure', status: 'INTERNAL' } }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const match = /^\/v1beta\/models\/([^/:]+):generateContent$/.exec((req.url ?? '').split('?')[0] ?? '');
    if (req.method !== 'POST' || !match) return reply(res, 404, { error: { code: 404, message: 'not found', status: 'NOT_FOUND' } });
    const apiKey = header(req, 'x-goog-api-key');
    if (!apiKey) return reply(res, 403, { error: { code: 403, message: 'API key missing', status: 'PERMISSION_DENIED' } });
    const body = JSON.parse(await readBody(req)) as Record<string, any>;
    const userText: string = body['contents']?.[0]?.parts?.[0]?.text ?? '';
    let message: FakeGeminiRequest['message'] = {};
    try {
      message = JSON.parse(userText) as FakeGeminiRequest['message'];
    } catch {
      // not the connector's prompt: answered like any text
    }
    const key = message.text ?? userText;
    const attempt = record ? (attempts.get(key) ?? 0) + 1 : 1;
    if (record) attempts.set(key, attempt);
    const request: FakeGeminiRequest = { model: decodeURIComponent(match[1]!), apiKey, body, message, attempt, receivedAt: Date.now() };
    if (record) requests.push(request);

    const delay = fake.behaviour.delayMs?.(request) ?? 0;
    if (delay > 0) {
      const gone = await waitOrClosed(res, delay);
      if (gone) return; // the client aborted (deadline): nothing to answer
    }
    const failure = fake.behaviour.fail?.(request);
    if (failure) {
      const details = failure.retryDelaySeconds !== undefined ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${failure.retryDelaySeconds}s` }] : [];
      return reply(res, failure.status, { error: { code: failure.status, message: 'fake failure', status: STATUS_NAMES[failure.status] ?? 'UNKNOWN', details } });
    }
    const translation = fakeTranslate(message, userText);
    reply(res, 200, {
      candidates: [{ content: { parts: [{ text: JSON.stringify({ translation }) }], role: 'model' }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: Math.ceil(userText.length / 4), candidatesTokenCount: Math.ceil(translation.length / 4), totalTokenCount: Math.ceil((userText.length + translation.length) / 4) },
      modelVersion: request.model,
      responseId: `fake-${Date.now()}`,
    });
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return fake;
}

/** `[<target>] <text>`, glossary terms replaced (case-insensitive) by their translations. */
export function fakeTranslate(message: FakeGeminiRequest['message'], fallback: string): string {
  let text = message.text ?? fallback;
  for (const [term, translation] of Object.entries(message.glossary ?? {})) {
    text = text.replace(new RegExp(term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi'), translation);
  }
  return `[${message.target ?? '?'}] ${text}`;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify(body));
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Waits `ms`; true when the client went away first. */
function waitOrClosed(res: ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(false);
    }, ms);
    const onClose = () => {
      clearTimeout(timer);
      resolve(true);
    };
    res.once('close', onClose);
  });
}
