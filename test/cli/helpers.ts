/** Shared bits of the CLI tests: the real server in-process, output capture, and a fake server. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { loadConfig } from '../../src/config/config.js';
import { createConfiguredEngines } from '../../src/engines/configured.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { simulate } from '../../src/cli/simulate.js';
import { interleave } from '../../src/audio/frames.js';
import { writeWav } from '../../src/audio/wav.js';

export const API_KEY = 'cli-test-key';
export const CLIENT_SECRET = Buffer.from('cli test client secret, 32 bytes!').toString('base64');
export const DEMO = new URL('../../samples/demo-call.wav', import.meta.url).pathname;

export async function startRealServer(env: Record<string, string> = {}): Promise<RunningServer> {
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    GENESYS_API_KEY: API_KEY,
    GENESYS_CLIENT_SECRET: CLIENT_SECRET,
    AUTH_FAILURE_DELAY_MS: '0',
    LOG_LEVEL: 'silent',
    // Placeholder transcripts at known times; the offline default is tested on its own.
    DEFAULT_SPEECH_PROVIDER: 'simulated',
    ...env,
  });
  const log = pino({ level: 'silent' });
  return startServer(config, { engines: await createConfiguredEngines(config), log });
}

export interface Run {
  code: number;
  out: string[];
  err: string[];
  /** Parsed `--json` lines. */
  json: Array<Record<string, unknown>>;
}

/** Runs `simulate` in-process with captured output and no environment defaults leaking in. */
export async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await simulate(args, { out: (l) => out.push(l), err: (l) => err.push(l), env });
  const json = out.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, out, err, json };
}

/** A scripted stand-in server: `onText` sees each client message and the socket to answer on. */
export async function startFakeServer(
  onText: (msg: Record<string, unknown>, ws: WebSocket, state: { seq: number }) => void,
): Promise<{ url: string; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws) => {
    const state = { seq: 0 };
    ws.on('message', (data, isBinary) => {
      if (!isBinary) onText(JSON.parse(String(data)) as Record<string, unknown>, ws, state);
    });
  });
  const port = (wss.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}/audiohook`,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  };
}

/** Sends a server message with the next seq (or a chosen one) answering `msg`. */
export function reply(
  ws: WebSocket,
  state: { seq: number },
  msg: Record<string, unknown>,
  type: string,
  /** null leaves `parameters` out (a violation). */
  parameters: Record<string, unknown> | null = {},
  seqOverride?: number,
): void {
  state.seq = seqOverride ?? state.seq + 1;
  const m: Record<string, unknown> = { version: '2', id: msg.id, type, seq: state.seq, clientseq: msg.seq };
  if (parameters !== null) m.parameters = parameters;
  ws.send(JSON.stringify(m));
}

/** The turns of the demo call from its transcript: channel (customer 0, agent 1) and start second. */
export function demoTurns(): Array<{ channelId: number; start: number; text: string }> {
  const text = readFileSync(new URL('../../samples/demo-call.txt', import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => {
      const [speaker, start, words] = l.split('\t');
      return { channelId: speaker === 'customer' ? 0 : 1, start: Number(start), text: words ?? '' };
    });
}

/** Writes a two-channel 8 kHz WAV (the shorter channel padded with silence) to a temp file. */
export function writeStereoWav(customer: Int16Array, agent: Int16Array): string {
  const n = Math.max(customer.length, agent.length);
  const pad = (x: Int16Array) => {
    const out = new Int16Array(n);
    out.set(x);
    return out;
  };
  const file = join(mkdtempSync(join(tmpdir(), 'call-')), 'call.wav');
  writeFileSync(file, writeWav({ sampleRate: 8000, channels: 2, format: 'L16', data: interleave([pad(customer), pad(agent)], 'L16') }));
  return file;
}
