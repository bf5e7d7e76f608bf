/** Local HTTP servers on 127.0.0.1 for the bot client tests: they record what they received. */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BotRequest } from '../../../src/voicebot/bot/types.js';

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The raw body as sent. */
  body: string;
  /** Whether the connection that carried this request has closed. */
  socketClosed: boolean;
}

export interface TestServer {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/** `handler` answers each request; leave `res` alone to never answer. */
export async function startServer(handler: (req: Received, res: ServerResponse, raw: IncomingMessage) => void): Promise<TestServer> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let socketClosed = req.socket.destroyed;
    req.socket.once('close', () => {
      socketClosed = true;
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        get socketClosed() {
          return socketClosed;
        },
      };
      received.push(r);
      handler(r, res, req);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A free port nobody listens on (for "connection refused"). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function botRequest(over: Partial<BotRequest> = {}): BotRequest {
  return {
    sessionId: 'e160e428-53e2-487c-977d-96989bf5c99d',
    conversationId: '090eaa2f-72fa-480a-83e0-8667ff89c0ec',
    connectorId: 'demo',
    language: 'en-US',
    turn: 1,
    event: 'start',
    inputVariables: {},
    caller: { ani: 'tel:+13175551234', aniName: 'John Doe', dnis: 'tel:+18005550199' },
    ...over,
  };
}

export const never = new AbortController().signal;

export async function waitFor(check: () => boolean, ms = 2000): Promise<boolean> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}
