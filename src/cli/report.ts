/** Output of `simulate`: live transcript lines, the call summary, the probe result and the load report. */
import type { SessionSummary } from './client/summary.js';
import { sessionOk } from './client/summary.js';
import type { Transcript } from './client/validate.js';

/** Nearest-rank percentile of unsorted values; 0 when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;
const SPEAKER: Record<string, string> = { external: 'customer', internal: 'agent' };

export function transcriptLine(t: Transcript): string {
  const who = `${SPEAKER[t.channel] ?? t.channel} (ch${t.channelId})`;
  const kind = t.isFinal ? 'final  ' : 'interim';
  return `${t.offset.toFixed(2).padStart(7)}s  ${who.padEnd(15)} ${kind}  ${t.text}`;
}

export function transcriptJson(t: Transcript, sessionId: string): string {
  return JSON.stringify({ type: 'transcript', sessionId, ...t });
}

function mediaText(s: SessionSummary): string {
  if (s.media === undefined) return 'none chosen';
  if (s.media === null) return 'no audio';
  return `${s.media.format} [${s.media.channels.join(', ')}]`;
}

/** Multi-line text summary of one call or probe. */
export function summaryText(s: SessionSummary): string {
  const lines = [`${s.probe ? 'probe' : 'session'} ${s.sessionId}: ${sessionOk(s) ? 'ok' : 'FAILED'}`];
  if (s.failure) lines.push(`  failure: ${s.failure}`);
  if (s.openLatencyMs !== undefined) lines.push(`  opened in ${round(s.openLatencyMs)} ms; media ${mediaText(s)}`);
  if (s.supportedLanguages) lines.push(`  supported languages: ${s.supportedLanguages.join(', ') || '(none)'}`);
  if (!s.probe && s.openLatencyMs !== undefined) {
    lines.push(
      `  streamed ${round(s.streamedSeconds)} s of audio (stream position ${round(s.positionSeconds)} s) in ${round(s.elapsedMs / 1000)} s`,
      `  events ${s.events}: ${s.finals} final, ${s.interims} interim; pings ${s.pings}, pongs ${s.pongs}` +
        (s.lastRttMs === undefined ? '' : `, rtt max ${round(s.maxRttMs)} ms`),
    );
  }
  if (s.serverPauses > 0) lines.push(`  server pauses: ${s.serverPauses}`);
  if (s.disconnect) lines.push(`  server disconnect: ${s.disconnect.reason}${s.disconnect.info ? ` (${s.disconnect.info})` : ''}`);
  if (s.rateLimitAnswers !== undefined) {
    if (s.rateLimitAnswers > 0) lines.push(`  ${s.rateLimitAnswers} events over 5/s (burst 25) answered with 429`);
  } else if (s.rateLimitExceeded > 0) {
    lines.push(`  warning: ${s.rateLimitExceeded} events over 5/s (burst 25): Genesys would answer 429`);
  }
  if (s.openLatencyMs !== undefined || s.protocolErrors.length > 0) {
    lines.push(`  protocol errors: ${s.protocolErrors.length === 0 ? 'none' : s.protocolErrors.length}`);
    for (const e of s.protocolErrors.slice(0, 10)) lines.push(`    - ${e}`);
  }
  return lines.join('\n');
}

export interface LoadReport {
  sessions: number;
  ok: number;
  failed: number;
  openLatencyMs: { p50: number; p99: number; max: number };
  events: number;
  finals: number;
  interims: number;
  rateLimitExceeded: number;
  protocolErrors: number;
  /** Failure and violation texts with how often each occurred, most frequent first. */
  problems: Array<{ text: string; count: number }>;
  elapsedSeconds: number;
  /**
   * End of speech → final arriving at the client, the recognizer's endpointing wait excluded
   * (client/latency.ts); present when the sessions measured it. `unmatched`: finals not measured.
   */
  finalLatencyMs?: { p50: number; p99: number; max: number; samples: number; unmatched: number };
}

/** Folds per-session summaries into one report. */
export function foldSummaries(summaries: readonly SessionSummary[], elapsedSeconds: number): LoadReport {
  const latencies: number[] = [];
  let finalLatencies: number[] | undefined;
  let unmatched = 0;
  const problems = new Map<string, number>();
  const note = (text: string): void => {
    // Ids and numbers vary per session; group by the message's shape.
    const key = text.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, '<id>').slice(0, 160);
    problems.set(key, (problems.get(key) ?? 0) + 1);
  };
  const report: LoadReport = {
    sessions: summaries.length,
    ok: 0,
    failed: 0,
    openLatencyMs: { p50: 0, p99: 0, max: 0 },
    events: 0,
    finals: 0,
    interims: 0,
    rateLimitExceeded: 0,
    protocolErrors: 0,
    problems: [],
    elapsedSeconds: round(elapsedSeconds, 2),
  };
  for (const s of summaries) {
    if (sessionOk(s)) report.ok += 1;
    else report.failed += 1;
    if (s.openLatencyMs !== undefined) latencies.push(s.openLatencyMs);
    if (s.finalLatency) {
      finalLatencies ??= [];
      for (const ms of s.finalLatency.samplesMs) finalLatencies.push(ms);
      unmatched += s.finalLatency.unmatched;
    }
    report.events += s.events;
    report.finals += s.finals;
    report.interims += s.interims;
    report.rateLimitExceeded += s.rateLimitExceeded;
    report.protocolErrors += s.protocolErrors.length;
    if (s.failure) note(s.failure);
    for (const e of s.protocolErrors) note(e);
    if (s.disconnect && s.disconnect.reason !== 'completed') note(`disconnect ${s.disconnect.reason}: ${s.disconnect.info ?? ''}`);
  }
  report.openLatencyMs = {
    p50: round(percentile(latencies, 50), 2),
    p99: round(percentile(latencies, 99), 2),
    max: round(latencies.reduce((a, b) => Math.max(a, b), 0), 2),
  };
  if (finalLatencies) {
    report.finalLatencyMs = {
      p50: round(percentile(finalLatencies, 50), 2),
      p99: round(percentile(finalLatencies, 99), 2),
      max: round(finalLatencies.reduce((a, b) => Math.max(a, b), 0), 2),
      samples: finalLatencies.length,
      unmatched,
    };
  }
  report.problems = [...problems].map(([text, count]) => ({ text, count })).sort((a, b) => b.count - a.count);
  return report;
}

export function loadReportText(r: LoadReport): string {
  const lines = [
    `load: ${r.sessions} sessions in ${r.elapsedSeconds} s — ${r.ok} ok, ${r.failed} failed`,
    `  open→opened: p50 ${r.openLatencyMs.p50} ms, p99 ${r.openLatencyMs.p99} ms, max ${r.openLatencyMs.max} ms`,
    `  events received: ${r.events} (${r.finals} final, ${r.interims} interim)`,
    `  protocol errors: ${r.protocolErrors}`,
  ];
  const f = r.finalLatencyMs;
  if (f) {
    lines.push(`  end of speech → final (endpointing excluded): p50 ${f.p50} ms, p99 ${f.p99} ms, max ${f.max} ms (${f.samples} finals, ${f.unmatched} unmatched)`);
  }
  if (r.rateLimitExceeded > 0) lines.push(`  warning: ${r.rateLimitExceeded} events over the 5/s rate limit`);
  if (r.problems.length > 0) {
    lines.push('  problems:');
    for (const p of r.problems.slice(0, 15)) lines.push(`    ${String(p.count).padStart(6)} × ${p.text}`);
  }
  if (r.problems.some((p) => /EMFILE/.test(p.text))) {
    lines.push('  note: EMFILE = too many open files; raise the limit (ulimit -n 65536) and retry');
  }
  return lines.join('\n');
}
