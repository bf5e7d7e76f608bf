/**
 * Load mode: N sessions started at R per second, all streaming the same pre-encoded frames off one
 * shared ticker, folded into one report. Kept cheap on purpose: the bench runs it on the same
 * machine as the server it measures.
 */
import type { SessionOptions } from './client/session.js';
import { runSession } from './client/session.js';
import { sessionOk, type SessionSummary } from './client/summary.js';
import { defaultTicker } from './client/ticker.js';
import { foldSummaries, type LoadReport } from './report.js';

export interface LoadProgress {
  started: number;
  /** Opened and not yet ended: the sessions streaming right now. */
  streaming: number;
  ended: number;
  failed: number;
  elapsedSeconds: number;
}

export interface LoadOptions {
  sessions: number;
  /** Sessions started per second. */
  rate: number;
  /** Options shared by every session; ids are generated per session. */
  session: Omit<SessionOptions, 'sessionId' | 'conversationId' | 'signal' | 'onOpened'>;
  signal?: AbortSignal;
  onProgress?: (p: LoadProgress) => void;
  progressIntervalMs?: number;
}

export async function runLoad(opts: LoadOptions): Promise<{ report: LoadReport; summaries: SessionSummary[] }> {
  const ticker = opts.session.ticker ?? defaultTicker;
  const started = performance.now();
  const runs: Array<Promise<SessionSummary>> = [];
  const progress: LoadProgress = { started: 0, streaming: 0, ended: 0, failed: 0, elapsedSeconds: 0 };
  const emit = (): void => {
    progress.elapsedSeconds = Math.round((performance.now() - started) / 100) / 10;
    opts.onProgress?.({ ...progress });
  };
  const progressTimer = opts.onProgress ? setInterval(emit, opts.progressIntervalMs ?? 1_000) : undefined;

  const startOne = (): void => {
    let opened = false;
    progress.started += 1;
    const run = runSession({
      ...opts.session,
      ticker,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onOpened: () => {
        opened = true;
        progress.streaming += 1;
      },
    }).then((s) => {
      if (opened) progress.streaming -= 1;
      progress.ended += 1;
      if (!sessionOk(s)) progress.failed += 1;
      return s;
    });
    runs.push(run);
  };

  // Start sessions on the shared ticker: at most `rate` per second, never ahead of schedule.
  await new Promise<void>((resolve) => {
    const untick = ticker.add((now) => {
      const due = opts.signal?.aborted
        ? runs.length
        : Math.min(opts.sessions, Math.floor(((now - started) / 1000) * opts.rate) + 1);
      while (runs.length < due) startOne();
      if (runs.length >= opts.sessions || opts.signal?.aborted) {
        untick();
        resolve();
      }
    });
  });

  const summaries = await Promise.all(runs);
  if (progressTimer) clearInterval(progressTimer);
  emit();
  return { report: foldSummaries(summaries, (performance.now() - started) / 1000), summaries };
}
