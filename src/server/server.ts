/**
 * The HTTP + WebSocket front: health/readiness/stats endpoints, upgrade authentication and
 * capacity checks, and the wiring of each socket to an AudioHookSession.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Config } from '../config/config.js';
import type { EngineRegistry } from '../engines/registry.js';
import { authenticateUpgrade } from '../protocol/auth.js';
import { AudioHookSession, type SessionInit } from '../session/session.js';
import type { TranslationService } from '../translation/service.js';
import { ServerStats } from './stats.js';

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly stats: ServerStats;
  readonly sessionCount: number;
  /** Stops accepting sessions (ready → 503), asks open sessions to end, waits up to graceMs. */
  drain(graceMs: number): Promise<void>;
  /** Drops everything at once and stops listening. */
  close(): Promise<void>;
}

export interface ServerDeps {
  engines: EngineRegistry;
  /** Translation, when configured (see createConfiguredTranslation). */
  translation?: TranslationService;
  log: Logger;
  /** Injectable clock (seconds) for signature checks in tests. */
  nowSeconds?: () => number;
}

/** After `closed`, a client that keeps the socket open is cut off after this long. */
const LINGER_AFTER_END_MS = 5_000;
/** Audio frames are a few KiB; text messages at most 64 KiB. Anything bigger is hostile. */
const MAX_PAYLOAD = 1024 * 1024;
/** Outbound bytes a client may leave unread before it is cut off (transcripts are a few KiB/s). */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** Failed upgrades held for the failure floor at once; past this they are answered immediately. */
const MAX_PENDING_REJECTIONS = 1000;

export async function startServer(config: Config, deps: ServerDeps): Promise<RunningServer> {
  const { log, engines } = deps;
  const nowSeconds = deps.nowSeconds ?? (() => Date.now() / 1000);
  const stats = new ServerStats();
  const sessions = new Set<AudioHookSession>();
  let pendingUpgrades = 0;
  let rejectionsPending = 0;
  let ready = false;
  let draining = false;

  const sessionSettings = {
    supportedLanguages: config.supportedLanguages,
    defaultLanguage: config.defaultLanguage,
    interimResults: config.interimResults,
    tokenLanguage: config.tokenLanguage,
    sendUpdated: config.sendUpdated,
    idleTimeoutMs: config.idleTimeoutMs,
    openTimeoutMs: config.openTimeoutMs,
    closeFlushTimeoutMs: config.closeFlushTimeoutMs,
    rateLimit: config.rateLimit,
  };

  const translation: SessionInit['translation'] = deps.translation
    ? { service: deps.translation, contextUtterances: config.translation.configured ? config.translation.options.contextUtterances : 4 }
    : { unavailable: config.translation.configured ? 'translation service not started' : config.translation.reason };

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD, perMessageDeflate: false, clientTracking: true });

  const http = createServer((req, res) => handleHttp(req, res));
  // Connections that dribble their headers (slowloris) are cut off; upgraded sockets are not affected.
  http.headersTimeout = 10_000;
  http.requestTimeout = 30_000;
  http.on('upgrade', (req, socket, head) => handleUpgrade(req, socket, head));
  http.on('clientError', (err, socket) => {
    log.debug({ err: err.message }, 'malformed HTTP request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  function handleHttp(req: IncomingMessage, res: ServerResponse): void {
    const path = pathOf(req.url);
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, { error: 'method not allowed' });
    if (path === '/health') return reply(200, { status: 'ok' });
    if (path === '/ready') {
      return ready && !draining ? reply(200, { status: 'ready', sessions: sessions.size }) : reply(503, { status: draining ? 'draining' : 'starting' });
    }
    if (path === '/stats') {
      let eventsQueued = 0;
      for (const s of sessions) eventsQueued += s.queuedEvents;
      const engineStats: Record<string, Record<string, number>> = {};
      for (const e of engines.engines) if (e.stats) engineStats[e.name] = e.stats();
      return reply(200, { ...stats.snapshot({ sessions: sessions.size, eventsQueued }), engines: engineStats });
    }
    if (path === config.path) return reply(426, { error: 'upgrade required' });
    reply(404, { error: 'not found' });
  }

  function reject(socket: Duplex, status: number, text: string): void {
    stats.upgradeRejected(status);
    if (socket.destroyed) return;
    const body = `${text}\n`;
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const started = Date.now();
    socket.on('error', () => socket.destroy());
    if (pathOf(req.url) !== config.path) return reject(socket, 404, 'Not Found');
    if (!ready || draining) return reject(socket, 503, 'Service Unavailable');
    if (sessions.size + pendingUpgrades >= config.maxSessions) {
      log.warn({ sessions: sessions.size, max: config.maxSessions }, 'upgrade refused: at capacity');
      return reject(socket, 503, 'Service Unavailable');
    }
    const authority = (config.trustProxy && firstHeader(req.headers['x-forwarded-host'])) || req.headers.host || '';
    const auth = authenticateUpgrade(
      { requestTarget: req.url ?? '/', authority, headers: req.headers },
      { keys: config.apiKeys, allowedOrgIds: config.allowedOrgIds, maxAgeSeconds: config.signatureMaxAgeSeconds },
      nowSeconds(),
    );
    if (!auth.ok) {
      rejectionsPending += 1;
      log.warn(
        { status: auth.status, reason: auth.reason, remote: req.socket.remoteAddress, sessionId: firstHeader(req.headers['audiohook-session-id']) },
        'upgrade rejected',
      );
      // A floor on failure time (without blocking anything else) so failures can't be timed or
      // hammered cheaply; under a flood of them, answer at once rather than hold every socket.
      const wait = rejectionsPending > MAX_PENDING_REJECTIONS ? 0 : Math.max(0, config.authFailureDelayMs - (Date.now() - started));
      setTimeout(() => {
        rejectionsPending -= 1;
        reject(socket, auth.status, auth.status === 401 ? 'Unauthorized' : 'Bad Request');
      }, wait).unref();
      return;
    }
    // Counted against capacity until it becomes a session or the socket goes (ws answers a
    // malformed handshake itself and never calls back).
    pendingUpgrades += 1;
    let counted = true;
    const uncount = () => {
      if (counted) pendingUpgrades -= 1;
      counted = false;
    };
    socket.once('close', uncount);
    wss.handleUpgrade(req, socket, head, (ws) => {
      uncount();
      attach(ws, auth.sessionId, auth.organizationId, auth.correlationId);
    });
  }

  function attach(ws: WebSocket, sessionId: string, organizationId: string, correlationId: string): void {
    const sessionLog = log.child({ session: sessionId, org: organizationId, correlation: correlationId });
    const session: AudioHookSession = new AudioHookSession({
      id: sessionId,
      organizationId,
      settings: sessionSettings,
      engines,
      translation,
      log: sessionLog,
      metrics: stats,
      transport: {
        send: (text) => {
          if (ws.readyState !== ws.OPEN) return;
          if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
            // A client that stops reading while we keep answering it would grow this without bound.
            sessionLog.warn({ bufferedAmount: ws.bufferedAmount }, 'client is not reading its socket; cutting it off');
            ws.terminate();
            return;
          }
          ws.send(text);
        },
        end: () => ws.terminate(),
      },
      onEnd: () => {
        sessions.delete(session);
        if (ws.readyState === ws.OPEN) {
          // The client closes the socket after `closed`; one that doesn't is cut off.
          setTimeout(() => ws.terminate(), LINGER_AFTER_END_MS).unref();
        }
      },
    });
    sessions.add(session);
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) session.handleBinary(data);
      else session.handleText(data.toString('utf8'));
    });
    ws.on('close', () => session.handleTransportClosed());
    ws.on('error', (err) => {
      // ws closes the socket after an error (bad frame, too large, invalid UTF-8): the close handler releases the session.
      sessionLog.warn({ err: err.message }, 'websocket error');
    });
  }

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  ready = true;
  const port = (http.address() as AddressInfo).port;
  const hostForUrl = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  log.info({ port, host: config.host, path: config.path, engines: engines.available }, 'listening');

  return {
    url: `ws://${hostForUrl}:${port}${config.path}`,
    port,
    stats,
    get sessionCount() {
      return sessions.size;
    },
    async drain(graceMs) {
      draining = true;
      log.info({ sessions: sessions.size, graceMs }, 'draining');
      const deadline = Date.now() + graceMs;
      // Calls end by themselves; wait for most of the grace, then ask the rest to finish.
      while (sessions.size > 0 && Date.now() < deadline - Math.min(10_000, graceMs / 2)) await sleep(200);
      for (const s of sessions) s.requestDisconnect('server shutting down');
      while (sessions.size > 0 && Date.now() < deadline) await sleep(100);
    },
    async close() {
      draining = true;
      for (const client of wss.clients) client.terminate();
      for (const s of sessions) s.handleTransportClosed();
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
    },
  };
}

function pathOf(url: string | undefined): string {
  const q = (url ?? '/').indexOf('?');
  return q === -1 ? (url ?? '/') : (url ?? '/').slice(0, q);
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
