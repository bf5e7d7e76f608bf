/**
 * The child processes of a benchmark run — the server, the load client and, for the google
 * engine, the fake Speech service — and how to talk to them. Separate processes so the server's
 * own CPU and memory figures are its alone.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import type { LoadClientArgs } from './load-client.js';

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

export function spawnServer(mainJs: string, port: number, env: Record<string, string>, nodeArgs: string[] = []): ServerProcess {
  const tail: string[] = [];
  // cwd outside the repository: the server loads ./.env, and a developer's .env must not change the figures.
  const child = spawn(process.execPath, [...nodeArgs, mainJs], {
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

/** Runs bench/load-client.js with its JSON arguments; every progress line goes to `onProgress`. */
export function spawnLoad(
  loadClientJs: string,
  args: LoadClientArgs,
  onProgress: (p: { started: number; streaming: number; ended: number; failed: number; cpuMicros: number }) => void,
): LoadProcess {
  const child = spawn(process.execPath, [loadClientJs, JSON.stringify(args)], {
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

export interface FakeSpeechProcess {
  child: ChildProcess;
  /** host:port the server is pointed at. */
  address: string;
  /** Stops it (SIGTERM) and returns its exit summary: CPU for its whole life, HTTP/2 connections seen. */
  stop(): Promise<{ cpuUserMs: number; cpuSystemMs: number; calls: number; connections: number } | undefined>;
}

/** Starts the fake Google Speech v2 service and waits for the address it prints. */
export async function spawnFakeSpeech(mainJs: string, endpointMs: number): Promise<FakeSpeechProcess> {
  const child = spawn(process.execPath, [mainJs, '--endpoint-ms', String(endpointMs)], {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  let summary: Awaited<ReturnType<FakeSpeechProcess['stop']>>;
  createInterface({ input: child.stderr }).on('line', (line) => {
    try {
      const msg = JSON.parse(line) as { fakeGoogleSpeech?: typeof summary };
      if (msg.fakeGoogleSpeech) summary = msg.fakeGoogleSpeech;
    } catch {
      stderr.push(line);
    }
  });
  const closed = new Promise<void>((r) => child.once('close', () => r()));
  const address = await new Promise<string>((resolve, reject) => {
    // Never leave it running when it does not come up.
    const failed = (err: Error): void => {
      child.kill('SIGKILL');
      reject(err);
    };
    const timer = setTimeout(() => failed(new Error('fake Speech service printed no address within 10 s')), 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fake Speech service exited with ${code}: ${stderr.join(' | ')}`));
    });
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve((JSON.parse(line) as { address: string }).address);
      } catch {
        failed(new Error(`fake Speech service: unexpected output ${line}`));
      }
    });
  });
  return {
    child,
    address,
    async stop() {
      await stop(child);
      await closed; // its summary line is read before 'close'
      return summary;
    },
  };
}

const CLOCK_TICKS = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** CPU (user + system) a live process has used, µs, from /proc (Linux); undefined elsewhere. */
export function processCpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1e6;
  } catch {
    return undefined;
  }
}
