/**
 * The bot client: one HTTP POST per turn, in our webhook format (the BotRequest as JSON, signed
 * when the endpoint has a secret) or Rasa's REST channel format; the reply normalized to a BotReply.
 */
import { BadReply, parseRasaReply, parseWebhookReply, toRasaRequest } from './reply.js';
import { SIGNATURE_HEADER, signBotRequest, TIMESTAMP_HEADER } from './signature.js';
import { BotError, type BotClient, type BotEndpoint, type BotReply, type BotRequest } from './types.js';

export { signBotRequest, verifyBotSignature, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './signature.js';
export type { SignatureHeaders } from './signature.js';

/** A reply is a few prompts: anything this large is a misbehaving bot, not a conversation. */
export const MAX_REPLY_BYTES = 256 * 1024;

export interface BotClientOptions {
  /** Per turn, from sending the request to the last byte of the reply. */
  timeoutMs: number;
  /** For tests; the global fetch by default. */
  fetch?: typeof fetch;
  userAgent?: string;
  /** Clock for the signature timestamp (ms), for tests. */
  now?: () => number;
}

/** The URL without credentials or query string: what may appear in logs. */
export function describeBotUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

export function createBotClient(endpoint: BotEndpoint, options: BotClientOptions): BotClient {
  let url: URL;
  try {
    url = new URL(endpoint.url);
  } catch {
    throw new Error('bot URL is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`bot URL must be http or https, not ${url.protocol}`);
  if (!(options.timeoutMs > 0)) throw new Error('bot timeout must be a positive number of milliseconds');
  const doFetch = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  // fetch refuses credentials in a URL; `https://user:pass@bot/...` means HTTP Basic auth.
  let authorization: string | undefined;
  if (url.username !== '' || url.password !== '') {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  const href = url.href;
  const rasa = endpoint.format === 'rasa';

  return {
    async ask(request: BotRequest, signal: AbortSignal): Promise<BotReply> {
      if (signal.aborted) throw new BotError('bot request aborted', 'aborted', { cause: signal.reason });
      const body = JSON.stringify(rasa ? toRasaRequest(request) : request);
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
      if (options.userAgent !== undefined) headers['user-agent'] = options.userAgent;
      if (authorization !== undefined) headers.authorization = authorization;
      if (endpoint.secret !== undefined && endpoint.secret !== '') {
        const timestamp = Math.floor(now() / 1000);
        headers[TIMESTAMP_HEADER] = String(timestamp);
        headers[SIGNATURE_HEADER] = signBotRequest(endpoint.secret, timestamp, body);
      }
      const timeout = AbortSignal.timeout(options.timeoutMs);
      const combined = AbortSignal.any([signal, timeout]);
      // Whichever fired first decides the kind; checked at the moment of failure.
      const abortError = (cause: unknown): BotError | undefined =>
        signal.aborted
          ? new BotError('bot request aborted', 'aborted', { cause })
          : timeout.aborted
            ? new BotError(`bot did not answer within ${options.timeoutMs} ms`, 'timeout', { cause })
            : undefined;

      let response: Response;
      try {
        // No redirects: following one would resend the signed body to wherever it points.
        response = await doFetch(href, { method: 'POST', headers, body, signal: combined, redirect: 'manual' });
      } catch (err) {
        throw abortError(err) ?? new BotError(`bot unreachable (${networkCode(err)})`, 'network', { cause: errorCause(err) });
      }

      let text: string;
      try {
        if (!response.ok) {
          // Release the connection without reading what may be a large error page.
          await response.body?.cancel().catch(() => undefined);
          throw new BotError(`bot answered HTTP ${response.status}`, 'http');
        }
        text = await readCapped(response, MAX_REPLY_BYTES);
      } catch (err) {
        if (err instanceof BotError) throw err;
        throw abortError(err) ?? new BotError(`bot reply could not be read (${networkCode(err)})`, 'network', { cause: errorCause(err) });
      }

      let json: unknown;
      if (response.status !== 204 && text.trim() !== '') {
        try {
          json = JSON.parse(text);
        } catch {
          throw new BotError('bot reply is not valid JSON', 'bad-reply');
        }
      }
      try {
        return rasa ? parseRasaReply(json) : parseWebhookReply(json);
      } catch (err) {
        if (err instanceof BadReply) throw new BotError(`bot reply invalid: ${err.message}`, 'bad-reply');
        throw err;
      }
    },
  };
}

/** The body as UTF-8, refusing (and cancelling) past `max` bytes so memory stays bounded. */
async function readCapped(response: Response, max: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel().catch(() => undefined);
    throw new BotError(`bot reply larger than ${max} bytes`, 'bad-reply');
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw new BotError(`bot reply larger than ${max} bytes`, 'bad-reply');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** undici wraps the socket error: `TypeError('fetch failed', {cause: {code: 'ECONNREFUSED'}})`. */
function networkCode(err: unknown): string {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code)) return code;
  }
  return 'connection failed';
}

/**
 * The cause to keep on a network BotError: only the innermost code, since undici's messages may
 * quote the URL (with its query string) and loggers print causes.
 */
function errorCause(err: unknown): Error {
  const e = new Error(networkCode(err));
  e.name = 'NetworkError';
  return e;
}
