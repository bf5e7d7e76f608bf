/**
 * What the soak decides from its series: RSS growth after warm-up, what is left behind once every
 * session ended, whether every session lived through it, whether /proc agrees with /stats; and the
 * series as a table. Pure functions over samples, so they are tested on synthetic series.
 */
import { alignedTable, fixed } from '../bench/table.js';
import type { SoakSample } from './sample.js';

export interface Check {
  name: string;
  status: 'ok' | 'FAIL' | 'skipped';
  detail: string;
}

const MiB = 1024 * 1024;
const mib = (bytes: number | undefined): string => (bytes === undefined ? 'n/a' : fixed(bytes / MiB, 1));
const signed = (n: number, digits = 0): string => `${n >= 0 ? '+' : ''}${n.toFixed(digits)}`;

/** m:ss (negative before the load). */
export const clock = (t: number): string => {
  const s = Math.round(Math.abs(t));
  return `${t < 0 && s > 0 ? '-' : ''}${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/** Warm-up: the first 20 % of the run, at most 5 minutes (JIT, pools and heap settle in it). */
export const warmupSeconds = (runSeconds: number): number => Math.min(0.2 * runSeconds, 300);

export interface Growth {
  baseline: SoakSample;
  last: SoakSample;
  /** last vs baseline, %. */
  percent: number;
  heapPercent: number;
  /**
   * The least-squares line through the samples after warm-up, its rise from first to last sample,
   * % of the baseline: the same question as `percent`, less at the mercy of one sample.
   */
  fitPercent: number;
}

/** RSS growth from the first sample at or after the warm-up to the last one; undefined with fewer than two. */
export function rssGrowth(load: readonly SoakSample[], warmup: number): Growth | undefined {
  const after = load.filter((s) => s.t >= warmup - 1e-6);
  const baseline = after[0];
  const last = after[after.length - 1];
  if (!baseline || !last || after.length < 2) return undefined;
  const pct = (a: number, b: number): number => ((b - a) / a) * 100;
  const meanT = after.reduce((a, s) => a + s.t, 0) / after.length;
  const meanR = after.reduce((a, s) => a + s.rssBytes, 0) / after.length;
  const num = after.reduce((a, s) => a + (s.t - meanT) * (s.rssBytes - meanR), 0);
  const den = after.reduce((a, s) => a + (s.t - meanT) ** 2, 0);
  return {
    baseline,
    last,
    percent: pct(baseline.rssBytes, last.rssBytes),
    heapPercent: pct(baseline.heapUsedBytes, last.heapUsedBytes),
    fitPercent: den > 0 ? ((num / den) * (last.t - baseline.t) * 100) / baseline.rssBytes : 0,
  };
}

export function growthCheck(load: readonly SoakSample[], warmup: number, maxPercent: number): Check {
  const name = `RSS growth after warm-up < ${maxPercent} %`;
  const g = rssGrowth(load, warmup);
  if (!g) return { name, status: 'FAIL', detail: `fewer than two samples after the ${clock(warmup)} warm-up: sample more often` };
  return {
    name,
    status: g.percent < maxPercent ? 'ok' : 'FAIL',
    detail:
      `${mib(g.baseline.rssBytes)} MiB at ${clock(g.baseline.t)} → ${mib(g.last.rssBytes)} MiB at ${clock(g.last.t)}: ${signed(g.percent, 1)} %` +
      ` (least-squares line ${signed(g.fitPercent, 1)} %; heap ${mib(g.baseline.heapUsedBytes)} → ${mib(g.last.heapUsedBytes)} MiB, ${signed(g.heapPercent, 1)} %)`,
  };
}

/** How much more than idle may remain once every session ended (something created lazily, once). */
export interface Slack {
  fds: number;
  timers: number;
  handles: number;
}

/**
 * After every session ended and a settle: descriptors, timers and active handles compared with the
 * idle server before the load (which already holds the listening socket, the logger, …). Both
 * samples include the /stats request's own socket.
 */
export function leftoverChecks(idle: SoakSample, ended: SoakSample | undefined, slack: Slack): Check[] {
  if (!ended) return [{ name: 'nothing left after the sessions ended', status: 'FAIL', detail: 'no sample after the end' }];
  const one = (name: string, before: number, after: number, allowed: number): Check => ({
    name: `${name} back to idle${allowed > 0 ? ` (+${allowed} allowed)` : ''}`,
    status: after - before <= allowed ? 'ok' : 'FAIL',
    detail: `idle ${before}, after ${after} (${signed(after - before)})`,
  });
  const checks = [
    { name: 'no session left in the server', status: ended.sessions === 0 ? 'ok' : 'FAIL', detail: `${ended.sessions} sessions` } as Check,
    one('open fds (/stats)', idle.openFds, ended.openFds, slack.fds),
  ];
  if (idle.procFds !== undefined && ended.procFds !== undefined) checks.push(one('open fds (/proc)', idle.procFds, ended.procFds, slack.fds));
  checks.push(one('timers', idle.timers, ended.timers, slack.timers), one('active handles/resources', idle.activeResources, ended.activeResources, slack.handles));
  return checks;
}

/**
 * /proc against /stats in every sample: RSS within 10 %, and the descriptor counts equal up to
 * the /stats request's socket and the directory handle its count holds open (2), give or take 2.
 */
export function crossCheck(samples: readonly SoakSample[]): Check {
  const name = '/proc agrees with /stats';
  const both = samples.filter((s) => s.procRssBytes !== undefined && s.procFds !== undefined);
  if (both.length === 0) return { name, status: 'skipped', detail: 'no /proc (not Linux)' };
  const rss = Math.max(...both.map((s) => Math.abs(s.procRssBytes! - s.rssBytes) / s.rssBytes)) * 100;
  const fds = Math.max(...both.map((s) => Math.abs(s.openFds - 2 - s.procFds!)));
  return {
    name,
    status: rss <= 10 && fds <= 2 ? 'ok' : 'FAIL',
    detail: `RSS differs by at most ${rss.toFixed(1)} %, fds by at most ${fds} beyond the /stats request's 2`,
  };
}

/** Every session streamed at every sample and ended cleanly, and no event was lost. */
export function sessionsCheck(
  sessions: number,
  load: readonly SoakSample[],
  report: Record<string, unknown> | undefined,
  eventsSent: number,
  eventsLost: number,
): Check {
  const name = `all ${sessions} sessions streamed throughout and closed cleanly`;
  if (load.length === 0) return { name, status: 'FAIL', detail: 'no sample under load' };
  const least = Math.min(...load.map((s) => Math.min(s.sessions, s.streaming ?? s.sessions)));
  const ok = Number(report?.ok ?? 0);
  const failed = Number(report?.failed ?? sessions);
  const protocolErrors = Number(report?.protocolErrors ?? 0);
  const good = least === sessions && ok === sessions && failed === 0 && protocolErrors === 0 && eventsLost === 0;
  const problems = ((report?.problems as Array<{ text: string; count: number }> | undefined) ?? []).slice(0, 3).map((p) => `; ${p.count} × ${p.text}`);
  return {
    name,
    status: good ? 'ok' : 'FAIL',
    detail:
      (report ? `ok/failed ${ok}/${failed}, protocol errors ${protocolErrors}` : 'the load client gave no report') +
      `, fewest streaming at a sample ${least}, events sent ${eventsSent}, lost ${eventsLost}${problems.join('')}`,
  };
}

const COLUMNS: Array<[string, (s: SoakSample) => string]> = [
  ['time', (s) => (s.phase === 'load' ? clock(s.t) : `${s.phase} ${clock(s.t)}`)],
  ['sessions', (s) => String(s.sessions)],
  ['streaming', (s) => (s.streaming === undefined ? '–' : String(s.streaming))],
  ['RSS MiB', (s) => mib(s.rssBytes)],
  ['RSS /proc', (s) => mib(s.procRssBytes)],
  ['heap MiB', (s) => mib(s.heapUsedBytes)],
  ['handles', (s) => String(s.activeResources)],
  ['timers', (s) => String(s.timers)],
  ['fds', (s) => String(s.openFds)],
  ['fds /proc', (s) => (s.procFds === undefined ? 'n/a' : String(s.procFds))],
  ['loop p99 ms', (s) => fixed(s.loopP99Ms, 1)],
  ['loop max ms', (s) => fixed(s.loopMaxMs, 1)],
  ['CPU %', (s) => fixed(s.cpuPercent, 0)],
];

/** The series, one row per sample; time is since the last session opened. */
export function soakTable(samples: readonly SoakSample[]): string {
  return alignedTable(
    COLUMNS.map(([h]) => h),
    samples.map((s) => COLUMNS.map(([, f]) => f(s))),
  ).join('\n');
}

export function checksText(checks: readonly Check[]): string {
  const width = Math.max(...checks.map((c) => c.status.length));
  return checks.map((c) => `  ${c.status.padEnd(width)}  ${c.name}: ${c.detail}`).join('\n');
}
