/** The benchmark's main table, as aligned text: one row per size and engine. */
import type { BenchRow } from './measure.js';

export const fixed = (n: number | undefined, digits: number): string => (n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
/** Shown for the engines that talk to a fake vendor process (the rest have no such column). */
const dash = (r: BenchRow, text: string, engines: readonly string[] = ['google', 'openai']): string => (engines.includes(r.engine) ? text : '–');

const COLUMNS: Array<[string, (r: BenchRow) => string]> = [
  ['sessions', (r) => String(r.sessions)],
  ['engine', (r) => (r.workers > 1 ? `${r.engine} ×${r.workers}` : r.engine)],
  ['ok/failed', (r) => `${r.ok}/${r.failed}`],
  ['server CPU ms per session-s', (r) => fixed(r.serverCpuMsPerSessionSecond, 3)],
  ['server RSS per session', (r) => `${fixed(r.serverRssPerSessionKiB, 0)} KiB`],
  ['open→opened p50 / p99', (r) => `${fixed(r.openP50Ms, 1)} / ${fixed(r.openP99Ms, 1)} ms`],
  ['speech end→final p50 / p99', (r) => `${fixed(r.finalLatencyP50Ms, 1)} / ${fixed(r.finalLatencyP99Ms, 1)} ms`],
  ['server frame→event p99', (r) => `${fixed(r.eventDelayP99Ms, 1)} ms`],
  ['events sent', (r) => String(r.eventsSent)],
  ['events lost', (r) => String(r.eventsLost)],
  ['protocol errors', (r) => String(r.protocolErrors)],
  ['load-client CPU', (r) => `${fixed(r.clientCpuPercent, 0)} %`],
  ['fake vendor CPU ms per session-s (core)', (r) => dash(r, `${fixed(r.fakeCpuMsPerSessionSecond, 3)} (${fixed(r.fakeCpuPercent, 0)} %)`)],
  ['HTTP/2 conns', (r) => dash(r, r.grpcConnections === undefined ? 'n/a' : String(r.grpcConnections), ['google'])],
  ['fake requests', (r) => dash(r, r.fakeRequests === undefined ? 'n/a' : String(r.fakeRequests), ['openai'])],
  ['load avg before', (r) => fixed(r.loadBefore, 2)],
  ['other CPU in window', (r) => `${fixed(r.otherCpuCores, 2)} cores`],
];

/** Right-aligned text table with a Markdown separator line. */
export function alignedTable(headers: readonly string[], cells: readonly string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (values: readonly string[]): string => `| ${values.map((v, i) => v.padStart(widths[i] ?? 0)).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => `${'-'.repeat(w + 1)}:`).join('|')}|`, ...cells.map(line)];
}

export function benchTable(rows: readonly BenchRow[]): string {
  const out = alignedTable(
    COLUMNS.map(([h]) => h),
    rows.map((r) => COLUMNS.map(([, f]) => f(r))),
  );
  const notes = rows.flatMap((r) => r.notes.map((n) => `- ${r.sessions} sessions, ${r.engine}: ${n}`));
  if (notes.length > 0) out.push('', 'Notes:', ...notes);
  return out.join('\n');
}
