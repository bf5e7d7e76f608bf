/**
 * Several worker processes sharing one port (node:cluster), for more than one core per instance.
 *
 * The primary only supervises: it forks WEB_CONCURRENCY workers, replaces one that dies (its
 * sessions are the only ones lost), gathers every worker's figures when one is asked for
 * /metrics or /stats, and on SIGTERM/SIGINT tells each to drain, exiting when they have. Sessions
 * keep no state outside their worker, so any worker serves any call.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import type { ClusterLink, FiguresKind, RunningServer, WorkerReport } from './server.js';
import { onStopSignals } from './signals.js';
import { mergeReports } from './stats.js';

/** Messages between the primary and its workers. */
type Message =
  | { type: 'audiohook:collect'; id: number; kind: FiguresKind } // worker → primary: everyone's figures, please
  | { type: 'audiohook:collected'; id: number; body: string }
  | { type: 'audiohook:report'; id: number; kind: FiguresKind } // primary → each worker: your figures
  | { type: 'audiohook:reported'; id: number; report: WorkerReport }
  | { type: 'audiohook:drain' }; // primary → each worker: shut down gracefully

/** A worker that does not answer within this long is left out of the figures. */
const REPORT_TIMEOUT_MS = 2_000;
/** A worker replaced this soon after the previous replacement waits this long (a crash loop must not spin). */
const RESPAWN_BACKOFF_MS = 1_000;

export interface PrimaryOptions {
  workers: number;
  log: Logger;
}

export function runPrimary({ workers, log }: PrimaryOptions): void {
  let stopping = false;
  let lastRespawn = 0;
  let nextReport = 0;
  const listening = new Set<number>();
  const alive = new Set<number>();
  const pendingReports = new Map<number, { reports: WorkerReport[]; waiting: number; done(): void }>();

  // First: a signal that comes before its handler would kill the primary and orphan the workers.
  onStopSignals(
    (signal) => {
      stopping = true;
      log.info({ signal }, 'shutting down: workers drain');
      stopAll('drain');
    },
    (signal) => {
      log.warn({ signal }, 'second signal: stopping now');
      stopAll('SIGKILL');
      process.exit(1);
    },
  );

  const fork = () => alive.add(cluster.fork().id);
  for (let i = 0; i < workers; i++) fork();
  log.info({ workers }, 'cluster started');

  cluster.on('listening', (worker) => {
    listening.add(worker.id);
    // A worker still starting when the stop came is told now: before it serves, its message listener may not exist yet.
    if (stopping) worker.send({ type: 'audiohook:drain' } satisfies Message);
  });
  cluster.on('exit', (worker, code, signal) => {
    const wasListening = listening.delete(worker.id);
    alive.delete(worker.id);
    for (const pending of pendingReports.values()) pending.done();
    if (stopping) {
      if (alive.size === 0) {
        log.info('all workers stopped');
        process.exit(0);
      }
      return;
    }
    if (!wasListening) {
      // It never started (configuration, port): replacing it would fail the same way.
      log.fatal({ worker: worker.process.pid, code, signal }, 'worker failed to start; stopping');
      stopAll('SIGKILL');
      process.exit(typeof code === 'number' && code !== 0 ? code : 1);
    }
    const delay = Date.now() - lastRespawn < RESPAWN_BACKOFF_MS * 5 ? RESPAWN_BACKOFF_MS : 0;
    lastRespawn = Date.now();
    log.error({ worker: worker.process.pid, code, signal, respawnInMs: delay }, 'worker died; its sessions are lost; replacing it');
    setTimeout(fork, delay);
  });

  cluster.on('message', (worker: Worker, message: Message) => {
    if (message?.type === 'audiohook:collect') void collect(worker, message.id, message.kind);
    else if (message?.type === 'audiohook:reported') {
      const pending = pendingReports.get(message.id);
      if (!pending) return;
      pending.reports.push(message.report);
      pending.waiting -= 1;
      if (pending.waiting === 0) pending.done();
    }
  });

  async function collect(asker: Worker, id: number, kind: FiguresKind): Promise<void> {
    const reports = await gather(kind);
    const metrics = reports.flatMap((r) => (r.kind === 'metrics' ? [r.metrics] : []));
    const stats = reports.flatMap((r) => (r.kind === 'stats' ? [r.stats] : []));
    const body =
      kind === 'metrics'
        ? await AggregatorRegistry.aggregate(metrics).metrics()
        : JSON.stringify({ ...mergeReports(stats), workers: stats.length });
    if (asker.isConnected()) asker.send({ type: 'audiohook:collected', id, body } satisfies Message);
  }

  /** Every live worker's report of one kind (those that answer in time). */
  function gather(kind: FiguresKind): Promise<WorkerReport[]> {
    const id = nextReport++;
    const live = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
    return new Promise((resolve) => {
      const reports: WorkerReport[] = [];
      const timer = setTimeout(() => done(), REPORT_TIMEOUT_MS);
      const done = () => {
        clearTimeout(timer);
        pendingReports.delete(id);
        resolve(reports);
      };
      pendingReports.set(id, { reports, waiting: live.length, done });
      for (const w of live) w.send({ type: 'audiohook:report', id, kind } satisfies Message);
      if (live.length === 0) done();
    });
  }

  function stopAll(signal: 'SIGKILL' | 'drain'): void {
    for (const w of Object.values(cluster.workers ?? {})) {
      if (!w) continue;
      if (signal === 'SIGKILL') w.process.kill('SIGKILL');
      else if (w.isConnected() && listening.has(w.id)) w.send({ type: 'audiohook:drain' } satisfies Message);
    }
  }

}

/**
 * The worker's side: answers the primary's requests for figures, asks it for everyone's, and
 * drains when told to (or when the primary is gone). Call it first thing: a message that comes
 * before its listener is lost.
 */
export function joinCluster(drain: () => void): { link: ClusterLink; serve(server: RunningServer): void } {
  let nextId = 0;
  const waiting = new Map<number, (answer: Extract<Message, { type: 'audiohook:collected' }>) => void>();
  let server: RunningServer | undefined;

  process.on('message', (message: Message) => {
    if (message?.type === 'audiohook:collected') waiting.get(message.id)?.(message);
    else if (message?.type === 'audiohook:report' && server) {
      void server.report(message.kind).then((report) => process.send?.({ type: 'audiohook:reported', id: message.id, report } satisfies Message));
    } else if (message?.type === 'audiohook:drain') drain();
  });
  // The primary is gone (killed): nothing supervises this worker any more.
  process.on('disconnect', drain);

  const link: ClusterLink = {
    collect(kind) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error('cluster figures timed out'));
        }, REPORT_TIMEOUT_MS * 2);
        waiting.set(id, (answer) => {
          clearTimeout(timer);
          waiting.delete(id);
          resolve(answer.body);
        });
        process.send?.({ type: 'audiohook:collect', id, kind } satisfies Message);
      });
    },
  };
  return {
    link,
    serve(s) {
      server = s;
    },
  };
}
