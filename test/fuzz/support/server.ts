/**
 * The real server (startServer, real `ws`, 127.0.0.1) as the fuzz tests run it, instrumented from
 * the outside only:
 * - a log sink that records each session's `session ended` line and any error-level line, so a
 *   case can wait for *its* session to be released and see whether the server hit an internal error;
 * - engines that count open streams per session (from the stream's logger bindings) and in total
 *   (the harness's countingEngine);
 * - two engines: `simulated` (any language, the default) and `narrow` (English and es-ES only), so
 *   the held-language paths (startPaused, pause, resume) are exercised too.
 */
import { request } from 'node:http';
import { pino } from 'pino';
import { expect } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { createEngineRegistry } from '../../../src/engines/registry.js';
import { createSimulatedEngine } from '../../../src/engines/simulated/index.js';
import type { SpeechEngine } from '../../../src/engines/types.js';
import { startServer } from '../../../src/server/server.js';
import type { SynthesizerRegistry } from '../../../src/synthesis/types.js';
import { countingEngine } from '../../server/harness.js';

export interface SessionRecord {
  /** `reason` of the session's `session ended` line, once logged. */
  ended: string | undefined;
  /** Error-level log lines of the session (msg). */
  errors: string[];
  streamsOpened: number;
  streamsOpen: number;
  /** A voice-bot session's summary from its `session ended` line (botTurns, botAudioSeconds, …). */
  voiceBot?: Record<string, unknown>;
}

/** What the server's log and engines say about each session, by session id. */
export class SessionBook {
  private readonly records = new Map<string, SessionRecord>();
  private readonly waiters = new Map<string, Array<() => void>>();
  /** Error-level lines that name no session. */
  readonly serverErrors: string[] = [];

  get(id: string): SessionRecord {
    let r = this.records.get(id);
    if (!r) {
      r = { ended: undefined, errors: [], streamsOpened: 0, streamsOpen: 0 };
      this.records.set(id, r);
    }
    return r;
  }

  markEnded(id: string, reason: string): void {
    this.get(id).ended = reason;
    const w = this.waiters.get(id) ?? [];
    this.waiters.delete(id);
    for (const f of w) f();
  }

  /** Resolves true once the session's `session ended` line is logged, false after `ms`. */
  waitEnded(id: string, ms: number): Promise<boolean> {
    if (this.get(id).ended !== undefined) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.set(id, (this.waiters.get(id) ?? []).filter((f) => f !== wake));
        resolve(false);
      }, ms);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.set(id, [...(this.waiters.get(id) ?? []), wake]);
    });
  }

  forget(id: string): void {
    this.records.delete(id);
  }
}

/** Log lines the server writes at error level for reasons that are not a server fault. */
const EXPECTED_ERROR_LINES = [
  'close deadline reached with transcript events still queued', // a 429 hold longer than CLOSE_FLUSH_TIMEOUT_MS
  'outbound event queue overflow',
];

function sinkFor(book: SessionBook) {
  return {
    write(line: string): void {
      const ended = line.includes('"msg":"session ended"');
      const error = /"level":(5|6)0/.test(line);
      if (!ended && !error) return;
      const o = JSON.parse(line) as Record<string, unknown>;
      const id = typeof o['sessionId'] === 'string' ? o['sessionId'] : undefined;
      if (ended && id && typeof o['voiceBot'] === 'object' && o['voiceBot'] !== null) book.get(id).voiceBot = o['voiceBot'] as Record<string, unknown>;
      if (ended && id) book.markEnded(id, String(o['reason']));
      if (error) {
        const msg = String(o['msg']);
        if (EXPECTED_ERROR_LINES.includes(msg)) return;
        const err = o['err'] as { message?: string; stack?: string } | undefined;
        const text = `${msg}${err ? `: ${err.stack ?? err.message}` : ''}`;
        if (id) book.get(id).errors.push(text);
        else book.serverErrors.push(text);
      }
    },
  };
}

/** The same engine under another name and language list. */
function renamed(inner: SpeechEngine, name: string, languages: SpeechEngine['languages']): SpeechEngine {
  return { name, capabilities: inner.capabilities, ...(languages ? { languages } : {}), openStream: (options) => inner.openStream(options) };
}

/** Counts each session's engine streams in the book (by the session id its logger carries). */
function streamsOf(book: SessionBook) {
  return (options: Parameters<SpeechEngine['openStream']>[0]) => {
    const bindings = options.log.bindings() as Record<string, unknown>;
    const record = book.get(String(bindings['sessionId'] ?? 'unknown'));
    record.streamsOpened += 1;
    record.streamsOpen += 1;
    return () => void (record.streamsOpen -= 1);
  };
}

/** Languages of the `narrow` engine: any English, and es-ES exactly. */
export const NARROW_LANGUAGES = ['en', 'es-ES'];

export interface FuzzServerOptions {
  /** Speech synthesis for voice-bot sessions (AUDIO_CONNECTOR_PATH); none by default (they are refused at open). */
  synthesizers?: SynthesizerRegistry;
}

export async function startFuzzServer(env: Record<string, string>, options: FuzzServerOptions = {}) {
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', ...env });
  const book = new SessionBook();
  const log = pino({ level: 'info' }, sinkFor(book));
  const sim = () => createSimulatedEngine({ endSilenceMs: 100, interimEveryMs: 200 });
  const engines = [
    countingEngine(renamed(sim(), 'simulated', 'any'), streamsOf(book)),
    countingEngine(renamed(sim(), 'narrow', NARROW_LANGUAGES), streamsOf(book)),
  ];
  const server = await startServer(config, { engines: createEngineRegistry(engines, 'simulated'), log, ...(options.synthesizers ? { synthesizers: options.synthesizers } : {}) });
  const httpBase = `http://127.0.0.1:${server.port}`;
  return {
    server,
    config,
    book,
    port: server.port,
    url: server.url,
    /** Engine streams open right now, over all sessions. */
    engineStreamsOpen: () => engines.reduce((n, e) => n + e.open, 0),
    httpGet: (path: string) => httpGet(`${httpBase}${path}`),
  };
}

export type FuzzServer = Awaited<ReturnType<typeof startFuzzServer>>;

/** GET without keep-alive (fetch's pooled sockets would outlive the test and skew the socket count). */
export function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sum of a Prometheus metric over all its label sets, from the text format. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const TRACKED = ['Timeout', 'TCPSocketWrap', 'TCPServerWrap'] as const;

/** Resource counts by kind (process.getActiveResourcesInfo names): the TRACKED ones and any others asked for. */
export type ResourceCounts = Record<(typeof TRACKED)[number], number> & Record<string, number>;

/**
 * Counts of the resources that would betray a leak: timers and sockets, plus the `extra` kinds
 * asked for (e.g. 'ProcessWrap' and 'PipeWrap' for child processes and their pipes).
 */
export function resources(extra: readonly string[] = []): ResourceCounts {
  const counts: Record<string, number> = { Timeout: 0, TCPSocketWrap: 0, TCPServerWrap: 0 };
  for (const k of extra) counts[k] = 0;
  for (const r of process.getActiveResourcesInfo()) if (r in counts) counts[r] = (counts[r] ?? 0) + 1;
  return counts as ResourceCounts;
}

/**
 * Waits (up to `ms`) until no tracked resource exceeds `baseline` plus `allowance` (the test's own
 * timer, for instance); returns the last counts. The kinds are those of `baseline`.
 */
export async function settleResources(baseline: ResourceCounts, ms: number, allowance: Partial<Record<string, number>> = {}) {
  const kinds = Object.keys(baseline).filter((k) => !(TRACKED as readonly string[]).includes(k));
  const deadline = Date.now() + ms;
  for (;;) {
    const now = resources(kinds);
    const over = Object.keys(baseline).some((k) => (now[k] ?? 0) > (baseline[k] ?? 0) + (allowance[k] ?? 0));
    if (!over || Date.now() > deadline) return now;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Records unhandled rejections while installed. */
export function unhandledRejections() {
  const seen: unknown[] = [];
  const handler = (reason: unknown) => void seen.push(reason);
  process.on('unhandledRejection', handler);
  return { seen, dispose: () => process.off('unhandledRejection', handler) };
}

/** Nothing left behind: sessions, engine streams, live figures, timers, sockets, rejections, error lines. */
export async function expectQuiescent(srv: FuzzServer, rejections: { seen: unknown[] }, before: ResourceCounts) {
  for (let i = 0; i < 100 && (srv.server.sessionCount > 0 || srv.engineStreamsOpen() > 0); i++) await new Promise((r) => setTimeout(r, 50));
  expect(srv.server.sessionCount, 'server.sessionCount').toBe(0);
  expect(srv.engineStreamsOpen(), 'engine streams open').toBe(0);
  const stats = JSON.parse((await srv.httpGet('/stats')).body) as { sessions: number };
  expect(stats.sessions, '/stats sessions').toBe(0);
  expect(metricSum((await srv.httpGet('/metrics')).body, 'audiohook_sessions_active'), '/metrics audiohook_sessions_active').toBe(0);
  // Timers (sessions', the 5 s linger after `closed`) and sockets must all go.
  const after = await settleResources(before, 8_000);
  const over = Object.fromEntries(Object.entries(after).filter(([k, n]) => n > (before[k] ?? 0)));
  expect(over, `timers or sockets left behind (before: ${JSON.stringify(before)})`).toEqual({});
  expect(rejections.seen, 'unhandled rejections').toEqual([]);
  expect(srv.book.serverErrors, 'error lines naming no session').toEqual([]);
}
