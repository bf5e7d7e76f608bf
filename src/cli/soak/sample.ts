/**
 * One point of the soak's series: the server's own figures from GET /stats, and its RSS and open
 * file descriptors read from /proc by this process as a cross-check (Linux; absent elsewhere).
 */
import type { ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import type { StatsSnapshot } from '../../server/stats.js';

export interface SoakSample {
  /** 'idle' before any load, 'load' while every session streams, 'ended' after they all closed. */
  phase: 'idle' | 'load' | 'ended';
  /** Seconds since the last session opened (negative for the idle sample). */
  t: number;
  /** Sessions the server holds. */
  sessions: number;
  /** Sessions the load client sees streaming (undefined outside the load). */
  streaming: number | undefined;
  rssBytes: number;
  heapUsedBytes: number;
  activeResources: number;
  timers: number;
  openFds: number;
  /** Event-loop delay since the previous sample, ms. */
  loopP99Ms: number;
  loopMaxMs: number;
  /** Server CPU since the previous sample, % of one core. */
  cpuPercent: number;
  /** /proc/<pid>/status VmRSS and /proc/<pid>/fd, read just before the /stats request. */
  procRssBytes: number | undefined;
  procFds: number | undefined;
}

/**
 * GET a JSON document on a connection of its own (`agent: false` sends `Connection: close`): no
 * keep-alive socket lingers in the server (5 s by default) to blur its descriptor count.
 */
export function getClosing<T>(url: string, timeoutMs = 10_000): Promise<{ status: number; body: T | undefined }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        let body: T | undefined;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
        } catch {
          // not JSON: the status says enough
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${timeoutMs / 1000} s`)));
    req.on('error', reject);
  });
}

export async function fetchStats(base: string): Promise<StatsSnapshot> {
  const { status, body } = await getClosing<StatsSnapshot>(`${base}/stats`);
  if (status !== 200 || !body) throw new Error(`${base}/stats: HTTP ${status}`);
  return body;
}

/** The bench's waitReady, minus its fetch's keep-alive connection (it would count as a leftover fd). */
export async function waitReady(server: { child: ChildProcess; base: string; tail: string[] }, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null) throw new Error(`server exited with ${server.child.exitCode}:\n${server.tail.join('\n')}`);
    if (await getClosing(`${server.base}/ready`, 2_000).then((r) => r.status === 200, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server not ready after ${timeoutMs / 1000} s:\n${server.tail.join('\n')}`);
}

/** The server's RSS and descriptor count as the kernel sees them; undefined off Linux or once it has gone. */
export function procFigures(pid: number | undefined): { rssBytes: number; fds: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    if (kib === undefined) return undefined;
    return { rssBytes: Number(kib) * 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

export interface Sampler {
  take(phase: SoakSample['phase'], t: number, streaming: number | undefined): Promise<{ sample: SoakSample; stats: StatsSnapshot }>;
}

/** Samples one server; CPU % is over the time since its previous sample. */
export function sampler(base: string, pid: number | undefined): Sampler {
  let last: { cpuMicros: number; at: number } | undefined;
  return {
    async take(phase, t, streaming) {
      // /proc first: then the /stats request's own socket is not in its count.
      const proc = procFigures(pid);
      const stats = await fetchStats(base);
      const at = performance.now();
      const cpuMicros = stats.cpu.userMicros + stats.cpu.systemMicros;
      const cpuPercent = last ? ((cpuMicros - last.cpuMicros) / 1000 / (at - last.at)) * 100 : NaN;
      last = { cpuMicros, at };
      const p = stats.process;
      const sample: SoakSample = {
        phase,
        t,
        sessions: stats.sessions,
        streaming,
        rssBytes: stats.rssBytes,
        heapUsedBytes: stats.heapUsedBytes,
        activeResources: p.activeResources,
        timers: p.timers,
        openFds: p.openFds,
        loopP99Ms: p.eventLoopDelayP99Ms,
        loopMaxMs: p.eventLoopDelayMaxMs,
        cpuPercent,
        procRssBytes: proc?.rssBytes,
        procFds: proc?.fds,
      };
      return { sample, stats };
    },
  };
}
