/**
 * The child processes of a benchmark run — the server, the load client and, for the google and
 * openai engines, the fake vendor service — and how to talk to them. Separate processes so the server's
 * own CPU and memory figures are its alone.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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
  /** Log messages (pino `msg`) it printed, by text, with how often: warnings are worth a note. */
  messages: Map<string, number>;
}

export function spawnServer(mainJs: string, port: number, env: Record<string, string>, nodeArgs: string[] = []): ServerProcess {
  const tail: string[] = [];
  const messages = new Map<string, number>();
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
      try {
        const msg = (JSON.parse(line) as { msg?: unknown }).msg;
        if (typeof msg === 'string') messages.set(msg, (messages.get(msg) ?? 0) + 1);
      } catch {
        // not a log line
      }
    });
  }
  return { child, base: `http://${HOST}:${port}`, tail, messages };
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
  /** With `traceFinals`: each measured final, its latency and arrival time (epoch ms). */
  onFinal?: (f: { ms: number; at: number }) => void,
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
    else if (msg.type === 'final') onFinal?.(msg as never);
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

export interface FakeVendorProcess {
  child: ChildProcess;
  /** The first line it printed on stdout (where it listens). */
  ready: Record<string, unknown>;
  /** Stops it (SIGTERM) and returns its exit summary (the JSON stderr line keyed `summaryKey`). */
  stop(): Promise<Record<string, number> | undefined>;
}

/**
 * Starts a fake vendor service (fake Speech v2, fake OpenAI) as its own process, so its CPU is not
 * the server's, and waits for the JSON line it prints once listening.
 */
export async function spawnFakeVendor(mainJs: string, args: string[], summaryKey: string): Promise<FakeVendorProcess> {
  const child = spawn(process.execPath, [mainJs, ...args], {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  let summary: Record<string, number> | undefined;
  createInterface({ input: child.stderr }).on('line', (line) => {
    try {
      const msg = JSON.parse(line) as Record<string, Record<string, number>>;
      if (msg[summaryKey]) summary = msg[summaryKey];
    } catch {
      stderr.push(line);
    }
  });
  const closed = new Promise<void>((r) => child.once('close', () => r()));
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    // Never leave it running when it does not come up.
    const failed = (err: Error): void => {
      child.kill('SIGKILL');
      reject(err);
    };
    const timer = setTimeout(() => failed(new Error(`${mainJs} printed no address within 10 s`)), 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${mainJs} exited with ${code}: ${stderr.join(' | ')}`));
    });
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as Record<string, unknown>);
      } catch {
        failed(new Error(`${mainJs}: unexpected output ${line}`));
      }
    });
  });
  return {
    child,
    ready,
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
  const f = statFields(pid);
  // utime is field 14, stime 15.
  return f ? ((Number(f[11]) + Number(f[12])) / CLOCK_TICKS) * 1e6 : undefined;
}

/** /proc/<pid>/stat fields after the command name (which may itself hold spaces); field 3 is index 0. */
function statFields(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

const PAGE_BYTES = (() => {
  const r = spawnSync('getconf', ['PAGESIZE'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 4096;
})();

export interface ChildrenSample {
  /** Live children of the process. */
  pids: number[];
  /**
   * CPU of its children, µs: the live ones' own plus what the parent has reaped (cutime/cstime),
   * so a child that exits between two samples still counts.
   */
  cpuMicros: number;
  /** Resident memory of the live children, bytes. */
  rssBytes: number;
}

/**
 * The direct children of `pid` (the server's pocketsphinx processes), from /proc (Linux only;
 * undefined elsewhere). Not counted in the server's own process.cpuUsage().
 */
export function childrenOf(pid: number | undefined): ChildrenSample | undefined {
  if (pid === undefined) return undefined;
  const parent = statFields(pid);
  if (!parent) return undefined;
  const ticks = (f: string[], i: number): number => Number(f[i]);
  // cutime 16, cstime 17 (1-based) → indexes 13, 14.
  let cpu = ((ticks(parent, 13) + ticks(parent, 14)) / CLOCK_TICKS) * 1e6;
  let rss = 0;
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(name);
    // ppid is field 4 → index 1; utime/stime 14/15 → 11/12; rss (pages) 24 → 21.
    if (!f || Number(f[1]) !== pid) continue;
    pids.push(Number(name));
    cpu += ((ticks(f, 11) + ticks(f, 12)) / CLOCK_TICKS) * 1e6;
    rss += ticks(f, 21) * PAGE_BYTES;
  }
  return { pids, cpuMicros: cpu, rssBytes: rss };
}

/**
 * CPU time the whole machine spent busy (user, nice, system, irq, softirq; all cores), µs, from
 * /proc/stat; undefined elsewhere. Less our own processes' CPU, it shows what else ran during a
 * window on a shared machine.
 */
export function machineBusyMicros(): number | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = cpu;
    return ((user + nice + system + irq + softirq) / CLOCK_TICKS) * 1e6;
  } catch {
    return undefined;
  }
}
