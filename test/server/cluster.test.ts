/**
 * The built server as operations run it: `node dist/server/main.js` with WEB_CONCURRENCY=2 —
 * two workers on one port, figures summed across them, a worker killed mid-call replaced with
 * only its sessions lost, and a SIGTERM drain that flushes live calls and exits 0.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, CLIENT_SECRET, pcmuFrames, sleep, TestClient, tone } from './harness.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
// A git-ignored folder of its own, not dist/: a developer's build is left alone.
const outDir = `${root}tmp/server-test-build`;
const main = `${outDir}/server/main.js`;

type Line = Record<string, unknown>;

beforeAll(() => {
  spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`, '--outDir', outDir], { cwd: root });
  if (!existsSync(main)) throw new Error(`build produced no ${main}`);
}, 120_000);
afterAll(() => {
  primaryProcess?.kill('SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitUntil<T>(what: string, fn: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

let primaryProcess: ChildProcess | undefined;

/** The built server with two workers on a free port; its JSON log lines as they come. */
async function startCluster() {
  const port = await freePort();
  const lines: Line[] = [];
  const child = spawn(process.execPath, [main], {
    cwd: outDir, // no .env here
    env: {
      PATH: process.env['PATH'] ?? '',
      NODE_ENV: 'production',
      WEB_CONCURRENCY: '2',
      HOST: '127.0.0.1',
      PORT: String(port),
      GENESYS_API_KEY: API_KEY,
      GENESYS_CLIENT_SECRET: CLIENT_SECRET,
      DEFAULT_SPEECH_PROVIDER: 'simulated',
      SHUTDOWN_GRACE_SECONDS: '1',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  primaryProcess = child;
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const p of parts) if (p.trim()) lines.push(JSON.parse(p) as Line);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { port, lines, exited };
}

describe('cluster mode (WEB_CONCURRENCY=2)', () => {
  it('a stop during start-up is carried out once the workers serve: exit 0, nothing left running', async () => {
    const { lines, exited } = await startCluster();
    await waitUntil('the primary', () => lines.some((l) => l['msg'] === 'cluster started'));
    primaryProcess!.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(lines.filter((l) => l['msg'] === 'draining: new sessions refused, live calls go on')).toHaveLength(2);
    expect(lines.at(-1)?.['msg']).toBe('all workers stopped');
  }, 30_000);

  it('serves on two workers, survives a worker killed mid-call, sums figures, drains on SIGTERM and exits 0', async () => {
    const { port, lines, exited } = await startCluster();
    const primary = primaryProcess!;
    const listening = () => lines.filter((l) => l['msg'] === 'listening').map((l) => l['pid'] as number);

    await waitUntil('two workers listening', () => listening().length === 2);
    const [w1, w2] = listening();
    expect(w1).not.toBe(w2);
    expect(lines.find((l) => l['msg'] === 'cluster started')?.['pid']).toBe(primary.pid);

    const url = `ws://127.0.0.1:${port}/audiohook`;
    const http = `http://127.0.0.1:${port}`;
    const calls: TestClient[] = [];
    for (let i = 0; i < 6; i++) {
      const c = await TestClient.connect(url);
      c.open();
      await c.waitType('opened');
      calls.push(c);
    }
    const workerOf = new Map<string, number>();
    await waitUntil('six sessions opened', () => lines.filter((l) => l['msg'] === 'session opened').length === 6);
    for (const l of lines.filter((l) => l['msg'] === 'session opened')) workerOf.set(l['sessionId'] as string, l['pid'] as number);
    expect(new Set(workerOf.values())).toEqual(new Set([w1, w2]));

    // Figures of both workers in one answer, whichever worker serves it.
    for (let i = 0; i < 2; i++) {
      const stats = (await (await fetch(`${http}/stats`)).json()) as { workers: number; sessions: number };
      expect(stats).toMatchObject({ workers: 2, sessions: 6 });
      expect(await (await fetch(`${http}/metrics`)).text()).toContain('audiohook_sessions_active{engine="simulated"} 6');
    }

    // Kill the worker serving the first call: its calls drop, the others go on; it is replaced.
    const victim = workerOf.get(calls[0]!.sessionId)!;
    process.kill(victim, 'SIGKILL');
    const lost = calls.filter((c) => workerOf.get(c.sessionId) === victim);
    const kept = calls.filter((c) => workerOf.get(c.sessionId) !== victim);
    for (const c of lost) expect(await c.waitClosed()).toBe(true);
    for (const c of kept) {
      const from = c.messages.length;
      c.send('ping');
      await c.waitFor((m) => m.type === 'pong', 2000, from);
    }
    await waitUntil('a replacement worker', () => listening().length === 3);
    const replacement = listening()[2]!;
    expect([w1, w2]).not.toContain(replacement);
    expect(lines.find((l) => l['msg'] === 'worker died; its sessions are lost; replacing it')).toMatchObject({ worker: victim, signal: 'SIGKILL' });

    // The surviving calls are mid-utterance when the instance is told to stop.
    for (const c of kept) for (const f of pcmuFrames([tone(2, [[0.4, 2]]), tone(2, [])])) c.audio(f);
    await sleep(200);
    // Delivered twice at once (Ctrl-C reaches the whole process group, and npm forwards it): one stop request, still graceful.
    primary.kill('SIGTERM');
    await sleep(10);
    primary.kill('SIGTERM');
    await waitUntil('draining', () => lines.some((l) => l['msg'] === 'draining: new sessions refused, live calls go on'));
    expect((await fetch(`${http}/ready`)).status).toBe(503);
    await expect(TestClient.connect(url)).rejects.toMatchObject({ status: 503 });
    for (const c of kept) {
      const d = await c.waitType('disconnect', 5000);
      expect(d.parameters).toEqual({ reason: 'completed', info: 'server shutting down' });
      // The utterance in progress was finalized and sent before the disconnect.
      const types = c.types();
      expect(types.lastIndexOf('event')).toBeGreaterThan(-1);
      expect(types.lastIndexOf('event')).toBeLessThan(types.indexOf('disconnect'));
      c.send('close', { reason: 'disconnect' });
      await c.waitType('closed');
      c.ws.close();
    }
    expect(await exited).toBe(0);
    expect(lines.filter((l) => l['msg'] === 'session ended' && l['reason'] === 'disconnect:completed')).toHaveLength(kept.length);
    expect(lines.at(-1)?.['msg']).toBe('all workers stopped');
  }, 60_000);
});
