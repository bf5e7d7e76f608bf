/**
 * The HTTP + WebSocket front: health/readiness/stats endpoints, upgrade authentication and
 * capacity checks, and the wiring of each socket to an AudioHookSession.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Config } from '../config/config.js';
import type { EngineRegistry } from '../engines/registry.js';
import { authenticateUpgrade } from '../protocol/auth.js';
import { AudioHookSession, CLIENT_GRACE_MS, type SessionInit } from '../session/session.js';
import type { TranslationService } from '../translation/service.js';
import type { SynthesizerRegistry } from '../synthesis/types.js';
import { handleDemoBotHttp } from '../voicebot/bot/demo.js';
import { connectorIdOf } from '../voicebot/options.js';
import { createVoiceBotService, type VoiceBotService } from '../voicebot/service.js';
import type { Registry } from 'prom-client';
import type { UpgradeRejection } from './prometheus.js';
import { ServerStats, type StatsReport } from './stats.js';

/** The two sets of figures: Prometheus text (/metrics) and the JSON of /stats. */
export type FiguresKind = 'metrics' | 'stats';

/** One worker's figures of one kind, as the cluster primary gathers them. */
export type WorkerReport =
  | { kind: 'metrics'; metrics: Awaited<ReturnType<Registry['getMetricsAsJSON']>> }
  | { kind: 'stats'; stats: StatsReport };

/** In cluster mode: every worker's figures of one kind at once, as the body to serve (see cluster.ts). */
export interface ClusterLink {
  collect(kind: FiguresKind): Promise<string>;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly stats: ServerStats;
  readonly sessionCount: number;
  /** Stops accepting sessions (ready → 503), asks open sessions to end, waits up to graceMs. */
  drain(graceMs: number): Promise<void>;
  /** Drops everything at once and stops listening. */
  close(): Promise<void>;
  /** This process's figures of one kind, for the cluster primary. */
  report(kind: FiguresKind): Promise<WorkerReport>;
}

export interface ServerDeps {
  engines: EngineRegistry;
  /** Translation, when configured (see createConfiguredTranslation). */
  translation?: TranslationService;
  log: Logger;
  /** Injectable clock (seconds) for signature checks in tests. */
  nowSeconds?: () => number;
  /** Set in a cluster worker: /metrics and /stats then answer for all workers. */
  cluster?: ClusterLink;
  /** Speech synthesis for voice-bot sessions (AUDIO_CONNECTOR_PATH); without it they are refused at `open`. */
  synthesizers?: SynthesizerRegistry;
  /** The bots' HTTP client (tests inject one). */
  fetch?: typeof fetch;
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
  const sessions = new Set<AudioHookSession>();
  const stats = new ServerStats({
    sessionsByEngine: () => {
      const counts = new Map<string, number>();
      for (const s of sessions) counts.set(s.engine ?? 'none', (counts.get(s.engine ?? 'none') ?? 0) + 1);
      return counts;
    },
    eventsQueued,
    draining: () => draining,
  });
  let voiceBotService: () => VoiceBotService = () => {
    throw new Error('voice bots are not ready before the server listens');
  };
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
    logTranscripts: config.logTranscripts,
    fallbackEngine: fallbackEngine(),
    engineStallMs: config.engineStallMs,
  };

  function fallbackEngine() {
    if (!config.fallbackVendor) return undefined;
    const resolved = engines.resolve(config.fallbackVendor);
    if (resolved.ok) return resolved.engine;
    log.warn({ engine: config.fallbackVendor }, `fallback engine not available: ${resolved.reason}`);
    return undefined;
  }

  const translation: SessionInit['translation'] = deps.translation
    ? { service: deps.translation, contextUtterances: config.translation.configured ? config.translation.options.contextUtterances : 4 }
    : { unavailable: config.translation.configured ? 'translation service not started' : config.translation.reason };

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD, perMessageDeflate: false, clientTracking: true });
  // A handshake `ws` itself refuses (wrong method, no or bad Sec-WebSocket-Key, unknown version):
  // answered here, so that it is counted like every other refusal.
  wss.on('wsClientError', (err, socket, req) => {
    log.warn({ err: err.message, method: req.method, remote: req.socket.remoteAddress }, 'upgrade rejected: bad handshake');
    if (req.method !== 'GET') return reject(socket, 405, 'Method Not Allowed', 'bad_request');
    reject(socket, 400, 'Bad Request', 'bad_request', /version/i.test(err.message) ? { 'Sec-WebSocket-Version': '13, 8' } : {});
  });

  const http = createServer((req, res) => handleHttp(req, res));
  // Connections that dribble their headers (slowloris) are cut off; upgraded sockets are not affected.
  http.headersTimeout = 10_000;
  http.requestTimeout = 30_000;
  http.on('upgrade', (req, socket, head) => handleUpgrade(req, socket, head));
  // CONNECT (a proxy tunnel) is not ours to serve: a clear 405 rather than a silently closed socket.
  http.on('connect', (req, socket) => {
    socket.on('error', () => socket.destroy());
    log.debug({ remote: req.socket.remoteAddress }, 'CONNECT refused');
    reject(socket, 405, 'Method Not Allowed', 'bad_request');
  });
  http.on('clientError', (err, socket) => {
    log.debug({ err: err.message }, 'malformed HTTP request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  function handleHttp(req: IncomingMessage, res: ServerResponse): void {
    const path = pathOf(req.url);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
      res.end(JSON.stringify(body));
    };
    // The demo FAQ bot (development, no bot configured): voice-bot sessions call it like any bot.
    if (path === DEMO_BOT_PATH && config.voiceBot.demoBot) return handleDemoBotHttp(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, { error: 'method not allowed' });
    if (path === '/health') return reply(200, { status: 'ok' });
    if (path === '/ready') {
      return ready && !draining ? reply(200, { status: 'ready', sessions: sessions.size }) : reply(503, { status: draining ? 'draining' : 'starting' });
    }
    if (path === '/stats' || path === '/metrics') {
      if (!metricsAllowed(req.headers.authorization)) return reply(401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer' });
      const answer = path === '/stats' ? statsAnswer() : metricsAnswer();
      answer.then(
        ({ type, body }) => {
          res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
          res.end(body);
        },
        (err: unknown) => {
          log.error({ err, path }, 'figures not available');
          if (!res.headersSent) reply(500, { error: 'figures not available' });
        },
      );
      return;
    }
    if (path === config.path || connectorIdOf(path, config.voiceBot.path) !== undefined) return reply(426, { error: 'upgrade required' });
    reply(404, { error: 'not found' });
  }

  /** METRICS_TOKEN, when set, as a bearer token (compared in constant time). */
  function metricsAllowed(authorization: string | undefined): boolean {
    if (!config.metricsToken) return true;
    const given = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1] ?? '';
    const digest = (v: string) => createHash('sha256').update(v).digest();
    return timingSafeEqual(digest(given), digest(config.metricsToken));
  }

  function eventsQueued(): number {
    let n = 0;
    for (const s of sessions) n += s.queuedEvents;
    return n;
  }

  function statsExtra() {
    const engineStats: Record<string, Record<string, number>> = {};
    for (const e of engines.engines) if (e.stats) engineStats[e.name] = e.stats();
    return { sessions: sessions.size, eventsQueued: eventsQueued(), engines: engineStats };
  }

  async function statsAnswer(): Promise<{ type: string; body: string }> {
    const body = deps.cluster ? await deps.cluster.collect('stats') : JSON.stringify(stats.snapshot(statsExtra()));
    return { type: 'application/json', body };
  }

  async function metricsAnswer(): Promise<{ type: string; body: string }> {
    const registry = stats.prometheus.registry;
    const body = deps.cluster ? await deps.cluster.collect('metrics') : await registry.metrics();
    return { type: registry.contentType, body };
  }

  function reject(socket: Duplex, status: number, text: string, reason: UpgradeRejection, headers: Record<string, string> = {}): void {
    stats.upgradeRejected(status, reason);
    if (socket.destroyed) return;
    const body = `${text}\n`;
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`,
    );
  }

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const started = Date.now();
    socket.on('error', () => socket.destroy());
    const path = pathOf(req.url);
    // The transcription path, or a voice bot's: AUDIO_CONNECTOR_PATH/<Architect's connector id>.
    const connectorId = path === config.path ? undefined : connectorIdOf(path, config.voiceBot.path);
    if (path !== config.path && connectorId === undefined) return reject(socket, 404, 'Not Found', 'not_found');
    if (!ready || draining) return reject(socket, 503, 'Service Unavailable', 'draining');
    if (sessions.size + pendingUpgrades >= config.maxSessions) {
      log.warn({ sessions: sessions.size, max: config.maxSessions }, 'upgrade refused: at capacity');
      return reject(socket, 503, 'Service Unavailable', 'capacity');
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
        if (auth.status === 401) reject(socket, 401, 'Unauthorized', 'unauthorized');
        else reject(socket, auth.status, 'Bad Request', 'bad_request');
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
      attach(ws, auth.sessionId, auth.organizationId, auth.correlationId, connectorId);
    });
  }

  function attach(ws: WebSocket, sessionId: string, organizationId: string, correlationId: string, connectorId: string | undefined): void {
    const sessionLog = log.child({ sessionId, orgId: organizationId, correlationId, ...(connectorId !== undefined ? { connectorId } : {}) });
    const writable = () => {
      if (ws.readyState !== ws.OPEN) return false;
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        // A client that stops reading while we keep answering it would grow this without bound.
        sessionLog.warn({ bufferedAmount: ws.bufferedAmount }, 'client is not reading its socket; cutting it off');
        ws.terminate();
        return false;
      }
      return true;
    };
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
          if (writable()) ws.send(text);
        },
        sendBinary: (frame) => {
          if (writable()) ws.send(frame, { binary: true });
        },
        end: () => ws.terminate(),
      },
      ...(connectorId !== undefined ? { voiceBot: { connectorId, service: voiceBotService() } } : {}),
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
  // The bots are known once the port is (the demo bot is called on it).
  const voiceBots: VoiceBotService = createVoiceBotService(config.voiceBot, deps.synthesizers ?? noSynthesizers, {
    demoUrl: config.voiceBot.demoBot ? `http://127.0.0.1:${port}${DEMO_BOT_PATH}` : undefined,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  voiceBotService = () => voiceBots;
  if (config.voiceBot.demoBot) log.info({ path: config.voiceBot.path }, 'no bot configured: voice-bot sessions talk to the demo FAQ bot');
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
      log.info({ sessions: sessions.size, graceMs }, 'draining: new sessions refused, live calls go on');
      const deadline = Date.now() + graceMs;
      while (sessions.size > 0 && Date.now() < deadline) await sleep(100);
      if (sessions.size === 0) return;
      log.info({ sessions: sessions.size }, 'grace over: flushing live sessions and asking them to end');
      for (const s of sessions) s.requestDisconnect('server shutting down');
      // Each flushes (CLOSE_FLUSH_TIMEOUT_MS at most), then its client answers the disconnect.
      const end = Date.now() + config.closeFlushTimeoutMs + CLIENT_GRACE_MS + 1000;
      while (sessions.size > 0 && Date.now() < end) await sleep(50);
    },
    async close() {
      draining = true;
      for (const client of wss.clients) client.terminate();
      for (const s of sessions) s.handleTransportClosed();
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      stats.dispose();
    },
    async report(kind) {
      // Only the kind asked for: a /stats snapshot also starts a new event-loop delay window.
      if (kind === 'metrics') return { kind, metrics: await stats.prometheus.registry.getMetricsAsJSON() };
      return { kind, stats: stats.report(statsExtra()) };
    },
  };
}

/** Where the demo FAQ bot answers (development only, when no bot is configured). */
const DEMO_BOT_PATH = '/demo-bot';

const noSynthesizers: SynthesizerRegistry = {
  available: [],
  defaultName: 'none',
  resolve: () => ({ ok: false, reason: 'this server was started without speech synthesis' }),
  close: async () => {},
};

function pathOf(url: string | undefined): string {
  const q = (url ?? '/').indexOf('?');
  return q === -1 ? (url ?? '/') : (url ?? '/').slice(0, q);
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
