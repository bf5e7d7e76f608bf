/**
 * What a voice-bot call reports: the result object (`--json` prints it, tests and the benchmark
 * read it), the live line per happening, and the text summary.
 */
import type { FrameFindings } from './frame-check.js';
import type { PlayerTracker } from './player-tracker.js';
import type { PlayedStep } from './steps.js';

export type Who = 'bot' | 'caller' | 'event' | 'server' | 'player' | 'check';

/** One happening of the call, `t` seconds after `open` was sent. */
export interface CallEvent {
  t: number;
  who: Who;
  /** Machine-readable kind: prompt_start, prompt_end, play, dtmf, barge_in, disconnect … */
  type: string;
  /** The readable line. */
  text: string;
  data?: Record<string, unknown>;
}

export interface TurnLatency {
  step: number;
  file: string;
  /** Caller audio start and end, seconds on the call timeline. */
  start: number;
  end: number;
  /** First frame of the bot's next prompt after the caller's audio ended; null when none came. */
  botAudioAt: number | null;
  latencyMs: number | null;
}

export interface VoiceBotCallResult {
  /** The session went as a Genesys client wants: no failure or protocol violation, closed, no error disconnect. */
  ok: boolean;
  /** No finding about the bot audio or events (what `--strict` also requires). */
  clean: boolean;
  sessionId: string;
  conversationId: string;
  url: string;
  failure?: string;
  protocolErrors: string[];
  closed: boolean;
  openLatencyMs?: number;
  elapsedSeconds: number;
  frames: number;
  bytes: number;
  botSeconds: number;
  prompts: Array<{ index: number; start: number; end: number; frames: number; bytes: number; seconds: number; cutSeconds: number }>;
  findings: FrameFindings & {
    /** Malformed voice-bot events. */
    events: string[];
    /** Frames that arrived after `disconnect` (never played). */
    audioAfterDisconnect: number;
    /** Times the player ran dry within a prompt (the server sent too late). */
    underruns: number;
  };
  /** Bot audio received but not yet played when `disconnect` came (Genesys may cut it off). */
  unplayedAtDisconnectSeconds?: number;
  bargeIns: number;
  botTurnResponses: Array<Record<string, unknown>>;
  disconnect?: { reason: string; info?: string; outputVariables?: Record<string, string> };
  turns: TurnLatency[];
  playback: { started: number; completed: number };
  dtmfSent: number;
  /** Arrival of each bot frame, seconds since open. */
  frameArrivals: number[];
  callerSeconds: number;
  events: CallEvent[];
  /** The bot's audio on the call timeline (8 kHz µ-law); not part of the JSON output. */
  recording: Uint8Array;
}

export interface ResultInput {
  sessionId: string;
  conversationId: string;
  url: string;
  failure?: string;
  elapsedMs: number;
  protocolErrors?: string[];
  closed?: boolean;
  openLatencyMs?: number;
  events?: CallEvent[];
  tracker?: PlayerTracker;
  findings?: FrameFindings;
  eventFindings?: string[];
  audioAfterDisconnect?: number;
  unplayedAtDisconnectMs?: number;
  bargeIns?: number;
  botTurnResponses?: Array<Record<string, unknown>>;
  disconnect?: VoiceBotCallResult['disconnect'];
  played?: readonly PlayedStep[];
  playback?: { started: number; completed: number };
  dtmfSent?: number;
  frameArrivals?: number[];
  callerSeconds?: number;
  /** Wall-clock ms of the call's time 0 (when `open` went out). */
  t0?: number;
}

const sec = (ms: number): number => Math.round(ms) / 1000;

const NO_FINDINGS: FrameFindings = {
  badSize: { count: 0, sizes: [] },
  headers: [],
  rateExceeded: 0,
  lead: { maxMs: 0, limitMs: 0, over: 0 },
  unexpectedAudio: 0,
};

export function buildResult(i: ResultInput): VoiceBotCallResult {
  const t0 = i.t0 ?? 0;
  const prompts = (i.tracker?.prompts ?? []).map((p) => ({
    index: p.index,
    start: sec(p.startAt - t0),
    end: sec(p.playEnd - t0),
    frames: p.frames,
    bytes: p.bytes,
    seconds: p.bytes / 8000,
    cutSeconds: sec(p.flushedMs),
  }));
  const turns = (i.played ?? []).map((p): TurnLatency => {
    const next = i.tracker?.prompts.find((q) => q.startAt >= p.endMs);
    return {
      step: p.step,
      file: p.file,
      start: sec(p.startMs - t0),
      end: sec(p.endMs - t0),
      botAudioAt: next ? sec(next.startAt - t0) : null,
      latencyMs: next ? Math.round(next.startAt - p.endMs) : null,
    };
  });
  const findings = {
    ...(i.findings ?? NO_FINDINGS),
    lead: { ...(i.findings ?? NO_FINDINGS).lead, maxMs: Math.round((i.findings ?? NO_FINDINGS).lead.maxMs) },
    events: i.eventFindings ?? [],
    audioAfterDisconnect: i.audioAfterDisconnect ?? 0,
    underruns: i.tracker?.stats.underruns ?? 0,
  };
  const protocolErrors = i.protocolErrors ?? [];
  const closed = i.closed ?? false;
  const ok = i.failure === undefined && protocolErrors.length === 0 && closed && (i.disconnect === undefined || i.disconnect.reason === 'completed');
  const clean =
    findings.badSize.count === 0 &&
    findings.headers.length === 0 &&
    findings.rateExceeded === 0 &&
    findings.lead.over === 0 &&
    findings.unexpectedAudio === 0 &&
    findings.events.length === 0 &&
    findings.audioAfterDisconnect === 0;
  const bytes = i.tracker?.stats.bytes ?? 0;
  const r: VoiceBotCallResult = {
    ok,
    clean,
    sessionId: i.sessionId,
    conversationId: i.conversationId,
    url: i.url,
    protocolErrors,
    closed,
    elapsedSeconds: sec(i.elapsedMs),
    frames: i.tracker?.stats.frames ?? 0,
    bytes,
    botSeconds: bytes / 8000,
    prompts,
    findings,
    bargeIns: i.bargeIns ?? 0,
    botTurnResponses: i.botTurnResponses ?? [],
    turns,
    playback: i.playback ?? { started: 0, completed: 0 },
    dtmfSent: i.dtmfSent ?? 0,
    frameArrivals: i.frameArrivals ?? [],
    callerSeconds: i.callerSeconds ?? 0,
    events: i.events ?? [],
    recording: i.tracker?.recording() ?? new Uint8Array(0),
  };
  if (i.failure !== undefined) r.failure = i.failure;
  if (i.openLatencyMs !== undefined) r.openLatencyMs = Math.round(i.openLatencyMs * 10) / 10;
  if (i.unplayedAtDisconnectMs !== undefined) r.unplayedAtDisconnectSeconds = sec(i.unplayedAtDisconnectMs);
  if (i.disconnect) r.disconnect = i.disconnect;
  return r;
}

/** `  3.40s  bot       ▶ speaking (prompt 1)` */
export function eventLine(e: CallEvent): string {
  return `${e.t.toFixed(2).padStart(6)}s  ${e.who.padEnd(9)} ${e.text}`;
}

/** The result as one JSON object (the recording left out: it is binary and goes to --record). */
export function resultJson(r: VoiceBotCallResult): string {
  const { recording: _recording, ...rest } = r;
  return JSON.stringify({ type: 'voicebot-summary', ...rest });
}

function findingsText(r: VoiceBotCallResult): string[] {
  const f = r.findings;
  const out: string[] = [];
  if (f.badSize.count > 0) out.push(`${f.badSize.count} frames not 1600 bytes (sizes ${f.badSize.sizes.join(', ')})`);
  for (const h of f.headers) out.push(`container header at the start of ${h}`);
  if (f.rateExceeded > 0) out.push(`${f.rateExceeded} frames over 5/s (burst 25): Genesys would answer 429`);
  if (f.lead.over > 0) out.push(`${f.lead.over} frames more than ${f.lead.limitMs} ms ahead of real time (max lead ${f.lead.maxMs} ms)`);
  if (f.unexpectedAudio > 0) out.push(`${f.unexpectedAudio} binary frames on a session that expects no audio`);
  if (f.audioAfterDisconnect > 0) out.push(`${f.audioAfterDisconnect} frames after disconnect`);
  for (const e of f.events) out.push(e);
  return out;
}

export function summaryText(r: VoiceBotCallResult): string {
  const lines = [`voicebot session ${r.sessionId}: ${r.ok ? (r.clean ? 'ok' : 'ok, with findings') : 'FAILED'}`];
  if (r.failure) lines.push(`  failure: ${r.failure}`);
  if (r.openLatencyMs !== undefined) {
    const f = r.findings;
    lines.push(
      `  bot audio: ${r.frames} frames, ${r.bytes} bytes, ${r.botSeconds.toFixed(1)} s in ${r.prompts.length} prompt${r.prompts.length === 1 ? '' : 's'}; ` +
        `max lead ${f.lead.maxMs} ms (limit ${f.lead.limitMs}); rate violations ${f.rateExceeded}; underruns ${f.underruns}`,
      `  caller: ${r.turns.length} turn${r.turns.length === 1 ? '' : 's'}, ${r.callerSeconds.toFixed(1)} s streamed, ${r.dtmfSent} dtmf digits`,
    );
    const latencies = r.turns.map((t) => (t.latencyMs === null ? '-' : `${(t.latencyMs / 1000).toFixed(2)} s`));
    if (latencies.length > 0) lines.push(`  turn latency (caller audio end → bot audio): ${latencies.join(', ')}`);
    lines.push(
      `  events: ${r.botTurnResponses.length} bot_turn_response, ${r.bargeIns} barge-in; playback ${r.playback.started} started, ${r.playback.completed} completed`,
    );
  }
  if (r.disconnect) {
    const vars = r.disconnect.outputVariables ? ` ${JSON.stringify(r.disconnect.outputVariables)}` : '';
    lines.push(`  server disconnect: ${r.disconnect.reason}${r.disconnect.info ? ` (${r.disconnect.info})` : ''}${vars}`);
    if ((r.unplayedAtDisconnectSeconds ?? 0) > 0.05) {
      lines.push(`  note: ${r.unplayedAtDisconnectSeconds?.toFixed(1)} s of bot audio had not played out yet at disconnect`);
    }
  }
  // A call that never opened has nothing to judge: the failure line says it all.
  if (r.openLatencyMs === undefined && r.protocolErrors.length === 0) return lines.join('\n');
  const findings = findingsText(r);
  lines.push(`  findings: ${findings.length === 0 ? 'none' : findings.length}`);
  for (const f of findings) lines.push(`    - ${f}`);
  lines.push(`  protocol errors: ${r.protocolErrors.length === 0 ? 'none' : r.protocolErrors.length}`);
  for (const e of r.protocolErrors.slice(0, 10)) lines.push(`    - ${e}`);
  return lines.join('\n');
}
