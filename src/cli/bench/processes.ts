/**
 * The two child processes of a benchmark run, the server and the load client, and how to talk to
 * them. Separate processes so the server's own CPU and memory figures are its alone.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';

export const HOST = '127.0.0.1';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** The open-files limit of this shell, when it can be read (each session costs one fd per side). */
export function openFilesLimit(): number | undefined {
  const r = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' });
  const n = Number(r.stdout.trim());
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

export interface ServerProcess {
  child: ChildProcess;
  base: string;
  /** Last lines of its output, for error messages. */
  tail: string[];
}

export function spawnServer(mainJs: string, port: number, env: Record<string, string>): ServerProcess {
  const tail: string[] = [];
  // cwd outside the repository: the server loads ./.env, and a developer's .env must not change the figures.
  const child = spawn(process.execPath, [mainJs], {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? '', HOST, PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
    });
  }
  return { child, base: `http://${HOST}:${port}`, tail };
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export async function waitReady(server: ServerProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null) {
      throw new Error(`server exited with ${server.child.exitCode}:\n${server.tail.join('\n')}`);
    }
    try {
      const res = await fetch(`${server.base}/ready`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`server not ready after ${timeoutMs / 1000} s:\n${server.tail.join('\n')}`);
}

/** Stops a child: SIGTERM, then SIGKILL if it lingers. */
export async function stop(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface LoadProcess {
  child: ChildProcess;
  /** Resolves with the parsed `report` line when the load client exits. */
  done: Promise<{ code: number | null; report?: Record<string, unknown>; stderr: string[] }>;
}

/** Runs `simulate` in load mode with `--json`; every progress line goes to `onProgress`. */
export function spawnLoad(
  mainJs: string,
  args: string[],
  onProgress: (p: { started: number; streaming: number; ended: number; failed: number; cpuMicros: number }) => void,
): LoadProcess {
  const child = spawn(process.execPath, [mainJs, 'simulate', ...args, '--json'], {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  let report: Record<string, unknown> | undefined;
  createInterface({ input: child.stdout }).on('line', (line) => {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (msg.type === 'progress') onProgress(msg as never);
    else if (msg.type === 'report') report = msg;
  });
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > 20) stderr.shift();
  });
  const done = new Promise<{ code: number | null; report?: Record<string, unknown>; stderr: string[] }>((resolve) => {
    child.once('close', (code) => resolve({ code, ...(report ? { report } : {}), stderr }));
  });
  return { child, done };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
