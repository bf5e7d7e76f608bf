/** Test harness: a real server on 127.0.0.1 and a raw, scriptable AudioHook client. */
import { randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config/config.js';
import { createEngineRegistry } from '../../src/engines/registry.js';
import { createSimulatedEngine } from '../../src/engines/simulated/index.js';
import type { EngineStream, SpeechEngine } from '../../src/engines/types.js';
import { interleave } from '../../src/audio/frames.js';
import { upgradeHeaders } from '../../src/cli/client/connect.js';
import { startServer } from '../../src/server/server.js';
import { createConfiguredTranslation } from '../../src/translation/configured.js';

export const API_KEY = 'test-api-key';
export const CLIENT_SECRET = Buffer.from('a test client secret of decent length').toString('base64');
export const ORG_ID = 'd7934305-0972-4844-938e-9060eef73d05';

/**
 * Wraps an engine to count open streams, so tests can prove nothing leaks. `watch`, when given,
 * hears of each stream opened and returns what to call when it closes (per-session books).
 */
export function countingEngine(
  inner: SpeechEngine,
  watch?: (options: Parameters<SpeechEngine['openStream']>[0]) => () => void,
): SpeechEngine & { open: number; opened: number } {
  const wrapper = {
    name: inner.name,
    capabilities: inner.capabilities,
    ...(inner.languages ? { languages: inner.languages } : {}),
    ...(inner.stats ? { stats: () => inner.stats!() } : {}),
    open: 0,
    opened: 0,
    openStream(options: Parameters<SpeechEngine['openStream']>[0]): EngineStream {
      const s = inner.openStream(options);
      wrapper.open += 1;
      wrapper.opened += 1;
      const closing = watch?.(options);
      let closed = false;
      return {
        push: (x) => s.push(x),
        ...(s.pushMulaw ? { pushMulaw: (f: Uint8Array, c: number, n: number) => s.pushMulaw!(f, c, n) } : {}),
        flush: () => s.flush(),
        close: async () => {
          if (!closed) {
            closed = true;
            wrapper.open -= 1;
            closing?.();
          }
          await s.close();
        },
      };
    },
  };
  return wrapper;
}

export async function startTestServer(env: Record<string, string> = {}, engine?: SpeechEngine, logger?: Logger) {
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    GENESYS_API_KEY: API_KEY,
    GENESYS_CLIENT_SECRET: CLIENT_SECRET,
    AUTH_FAILURE_DELAY_MS: '200',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const eng = countingEngine(engine ?? createSimulatedEngine());
  const log = logger ?? pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
  const translation = await createConfiguredTranslation(config);
  const server = await startServer(config, { engines: createEngineRegistry([eng], 'simulated'), log, ...(translation ? { translation } : {}) });
  return { server, engine: eng, config, httpUrl: server.url.replace('ws://', 'http://').replace(config.path, '') };
}

export interface Msg {
  version: string;
  id: string;
  type: string;
  seq: number;
  clientseq: number;
  parameters: Record<string, any>;
}

export class UpgradeRejected extends Error {
  constructor(readonly status: number) {
    super(`upgrade rejected: ${status}`);
  }
}

export class TestClient {
  readonly messages: Msg[] = [];
  seq = 0;
  private waiters: Array<() => void> = [];
  closed = false;
  closeCode = 0;

  private constructor(
    readonly ws: WebSocket,
    readonly sessionId: string,
    readonly orgId: string,
  ) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      this.messages.push(JSON.parse(data.toString()) as Msg);
      this.wake();
    });
    ws.on('close', (code) => {
      this.closed = true;
      this.closeCode = code;
      this.wake();
    });
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static connect(
    url: string,
    opts: {
      apiKey?: string;
      secret?: string | null;
      orgId?: string;
      sessionId?: string;
      headers?: Record<string, string>;
      /** The host the client believes it talks to (a proxy in front), signed instead of the URL's. */
      signedAuthority?: string;
    } = {},
  ): Promise<TestClient> {
    const sessionId = opts.sessionId ?? randomUUID();
    const orgId = opts.orgId ?? ORG_ID;
    const correlationId = randomUUID();
    const apiKey = opts.apiKey ?? API_KEY;
    const u = new URL(url);
    const secret = opts.secret === undefined ? CLIENT_SECRET : opts.secret;
    // The CLI's own upgrade (the one users run); a proxied client signs the host it believes in.
    const headers = upgradeHeaders({
      url: opts.signedAuthority ? `${u.protocol}//${opts.signedAuthority}${u.pathname}${u.search}` : url,
      apiKey,
      clientSecret: secret ?? undefined,
      organizationId: orgId,
      sessionId,
      correlationId,
    });
    Object.assign(headers, opts.headers ?? {});
    const ws = new WebSocket(url, { headers });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new TestClient(ws, sessionId, orgId)));
      ws.once('unexpected-response', (_req, res) => {
        reject(new UpgradeRejected(res.statusCode ?? 0));
        res.resume();
      });
      ws.once('error', reject);
    });
  }

  get lastServerSeq(): number {
    return this.messages.at(-1)?.seq ?? 0;
  }

  send(type: string, parameters: Record<string, unknown> = {}, overrides: Record<string, unknown> = {}): number {
    this.seq = typeof overrides['seq'] === 'number' ? overrides['seq'] : this.seq + 1;
    this.ws.send(
      JSON.stringify({ version: '2', id: this.sessionId, type, seq: this.seq, serverseq: this.lastServerSeq, position: 'PT0S', parameters, ...overrides }),
    );
    return this.seq;
  }

  open(params: Record<string, unknown> = {}): number {
    return this.send('open', openParameters(this.orgId, params));
  }

  audio(frame: Uint8Array) {
    this.ws.send(frame, { binary: true });
  }

  /** Waits for the first message (after `from`) matching the predicate. */
  async waitFor(pred: (m: Msg) => boolean, timeoutMs = 5000, from = 0): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.slice(from).find(pred);
      if (found) return found;
      if (this.closed) throw new Error(`socket closed while waiting; got ${this.types().join(',')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; got ${this.types().join(',')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  waitType(type: string, timeoutMs?: number) {
    return this.waitFor((m) => m.type === type, timeoutMs);
  }

  async waitClosed(timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }

  types() {
    return this.messages.map((m) => m.type);
  }

  transcripts() {
    return this.messages.filter((m) => m.type === 'event').map((m) => m.parameters['entities'][0].data);
  }

  /** close → closed, the way Genesys ends a session. */
  async close(reason = 'end') {
    const seq = this.send('close', { reason });
    const closed = await this.waitType('closed', 12_000);
    this.ws.close();
    return { closed, seq };
  }
}

export function openParameters(orgId: string, extra: Record<string, unknown> = {}) {
  return {
    organizationId: orgId,
    conversationId: randomUUID(),
    participant: { id: randomUUID(), ani: '+15551234567', aniName: 'Caller', dnis: '+15557654321' },
    media: [
      { type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 },
      { type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 },
      { type: 'audio', format: 'PCMU', channels: ['internal'], rate: 8000 },
    ],
    language: 'en-US',
    ...extra,
  };
}

/** PCM16 at 8 kHz: a tone where `on`, silence elsewhere. */
export function tone(seconds: number, spans: Array<[number, number]>, amplitude = 8000): Int16Array {
  const out = new Int16Array(Math.round(seconds * 8000));
  for (const [from, to] of spans) {
    for (let i = Math.round(from * 8000); i < Math.min(out.length, Math.round(to * 8000)); i++) {
      out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * 440 * i) / 8000));
    }
  }
  return out;
}

/** Interleaved PCMU frames of `frameMs` from per-channel PCM16 arrays. */
export function pcmuFrames(channels: Int16Array[], frameMs = 200): Uint8Array[] {
  const per = (8000 * frameMs) / 1000;
  const frames: Uint8Array[] = [];
  const n = channels[0]!.length;
  for (let i = 0; i < n; i += per) {
    frames.push(interleave(channels.map((c) => c.subarray(i, Math.min(n, i + per))), 'PCMU'));
  }
  return frames;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A logger whose lines land in an array, for tests about what the server logs. */
export function capturingLogger(level = 'debug') {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}
