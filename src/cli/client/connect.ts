/**
 * The AudioHook upgrade as Genesys performs it (protocol §8): `Audiohook-*` headers, `X-API-KEY`,
 * and an HTTP message signature when there is a client secret.
 */
import WebSocket from 'ws';
import { signRequest } from '../../protocol/signature.js';

export interface ConnectOptions {
  url: string;
  apiKey: string;
  /** Base64; unsigned request when absent or empty. */
  clientSecret?: string | undefined;
  organizationId: string;
  sessionId: string;
  correlationId: string;
  handshakeTimeoutMs?: number;
}

export type ConnectResult =
  | { ok: true; ws: WebSocket }
  | { ok: false; error: string; status?: number; code?: string };

const HINTS: Record<number, string> = {
  400: ' (the server rejected the upgrade headers)',
  401: ' (check --api-key/--client-secret)',
  403: ' (check --org-id and --api-key)',
  404: ' (check the --url path)',
  503: ' (server not ready or at capacity)',
};

export function upgradeHeaders(opts: ConnectOptions, nowSeconds = Date.now() / 1000): Record<string, string> {
  const url = new URL(opts.url);
  const headers: Record<string, string> = {
    'Audiohook-Organization-Id': opts.organizationId,
    'Audiohook-Session-Id': opts.sessionId,
    'Audiohook-Correlation-Id': opts.correlationId,
    'X-API-KEY': opts.apiKey,
  };
  if (opts.clientSecret) {
    const signed = signRequest({
      requestTarget: `${url.pathname}${url.search}`,
      // URL.host omits default ports, exactly as the Host header ws sends does.
      authority: url.host,
      organizationId: opts.organizationId,
      sessionId: opts.sessionId,
      correlationId: opts.correlationId,
      apiKey: opts.apiKey,
      clientSecret: opts.clientSecret,
      nowSeconds,
    });
    headers['Signature-Input'] = signed['signature-input'];
    headers.Signature = signed.signature;
  }
  return headers;
}

export function connect(opts: ConnectOptions): Promise<ConnectResult> {
  return new Promise((resolve) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(opts.url, {
        headers: upgradeHeaders(opts),
        handshakeTimeout: opts.handshakeTimeoutMs ?? 10_000,
        perMessageDeflate: false,
      });
    } catch (err) {
      resolve({ ok: false, error: `cannot connect to ${opts.url}: ${(err as Error).message}` });
      return;
    }
    let settled = false;
    const done = (r: ConnectResult): void => {
      if (settled) return;
      settled = true;
      resolve(r);
    };
    ws.once('open', () => done({ ok: true, ws }));
    ws.once('unexpected-response', (req, res) => {
      const status = res.statusCode ?? 0;
      // With this listener installed ws leaves the request to us: drop it.
      req.destroy();
      res.resume();
      done({ ok: false, status, error: `upgrade rejected: HTTP ${status}${HINTS[status] ?? ''}` });
    });
    ws.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code;
      const hint =
        code === 'EMFILE'
          ? ' (too many open files: raise the limit with `ulimit -n`)'
          : code === 'ECONNREFUSED'
            ? ' (is the server running? start it with `npm start`)'
            : '';
      done({ ok: false, ...(code ? { code } : {}), error: `cannot connect to ${opts.url}: ${err.message}${hint}` });
    });
  });
}

/**
 * Closes the socket (1000) and calls `closed` once it is gone, without waiting more than a second
 * for the close handshake of a misbehaving peer.
 */
export function closeSocket(ws: WebSocket, closed: () => void): void {
  if (ws.readyState === ws.OPEN) ws.close(1000);
  const t = setTimeout(() => ws.terminate(), 1_000);
  ws.once('close', () => {
    clearTimeout(t);
    closed();
  });
  if (ws.readyState === ws.CLOSED) {
    clearTimeout(t);
    closed();
  }
}
