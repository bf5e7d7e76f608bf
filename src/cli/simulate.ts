/**
 * `simulate`: one call, a probe, or a load run, with output to injected writers so tests can run
 * it in-process. Returns the exit status (0 ok, 1 failure or violation, 2 usage).
 */
import { setMaxListeners } from 'node:events';
import { parseSimulateArgs, UsageError, USAGE, type SimulateOptions } from './args.js';
import { loadWavSource, type AudioSource } from './client/audio-source.js';
import { runSession, type SessionOptions } from './client/session.js';
import { sessionOk } from './client/summary.js';
import { runLoad } from './load.js';
import { loadReportText, summaryText, transcriptJson, transcriptLine } from './report.js';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Ends the run early and cleanly (Ctrl-C). */
  signal?: AbortSignal;
}

/** This process's CPU time: the bench reports what the load client itself cost. */
const cpuMicros = (): number => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export async function simulate(argv: string[], io: CliIo): Promise<number> {
  let options: SimulateOptions | undefined;
  try {
    options = parseSimulateArgs(argv, io.env ?? process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    throw err;
  }
  if (!options) {
    io.out(USAGE);
    return EXIT_OK;
  }

  let source: AudioSource | undefined;
  if (options.file !== undefined) {
    try {
      source = await loadWavSource(options.file);
    } catch (err) {
      io.err(`error: ${(err as Error).message}`);
      return EXIT_USAGE;
    }
  }
  return options.mode === 'load' ? runLoadMode(options, source as AudioSource, io) : runCall(options, source, io);
}

function sessionOptions(o: SimulateOptions, io: CliIo): SessionOptions {
  const s: SessionOptions = {
    url: o.url,
    apiKey: o.apiKey,
    clientSecret: o.clientSecret,
    organizationId: o.organizationId,
    language: o.language,
    supportedLanguages: o.supportedLanguages,
    customConfig: o.customConfig,
    speed: o.speed,
    durationSeconds: o.durationSeconds,
    loop: o.loop,
    script: o.script,
  };
  if (o.answer429 !== undefined) s.answer429 = { retryAfterSeconds: o.answer429 };
  if (io.signal) s.signal = io.signal;
  return s;
}

async function runCall(o: SimulateOptions, source: AudioSource | undefined, io: CliIo): Promise<number> {
  const opts = sessionOptions(o, io);
  if (o.mode === 'probe') opts.probe = true;
  if (source) opts.source = source;
  if (!o.quiet) {
    opts.onTranscript = (t, id) => io.out(o.json ? transcriptJson(t, id) : transcriptLine(t));
    opts.onNotice = (text, id) => (o.json ? io.out(JSON.stringify({ type: 'notice', sessionId: id, text })) : io.err(`-- ${text}`));
    if (!o.json && source) {
      io.err(`-- streaming ${source.name} (${source.durationSeconds.toFixed(1)} s) to ${o.url}${o.speed !== 1 ? ` at ${o.speed}x` : ''}`);
    }
  }
  const summary = await runSession(opts);
  if (o.json) io.out(JSON.stringify({ type: 'summary', ok: sessionOk(summary), ...summary }));
  else if (sessionOk(summary)) io.out(summaryText(summary));
  else io.err(summaryText(summary));
  return sessionOk(summary) ? EXIT_OK : EXIT_FAILURE;
}

async function runLoadMode(o: SimulateOptions, source: AudioSource, io: CliIo): Promise<number> {
  // Every session listens on the one abort signal: thousands of listeners are expected here.
  if (io.signal) setMaxListeners(0, io.signal);
  const base = sessionOptions(o, io);
  base.source = source;
  if (!o.json) {
    io.err(
      `-- load: ${o.sessions} sessions at ${o.rate}/s, ${o.durationSeconds ?? source.durationSeconds} s each${o.loop ? ' (looping)' : ''} → ${o.url}`,
    );
  }
  const { report } = await runLoad({
    sessions: o.sessions,
    rate: o.rate,
    session: base,
    ...(io.signal ? { signal: io.signal } : {}),
    ...(o.quiet
      ? {}
      : {
          onProgress: (p) =>
            o.json
              ? io.out(JSON.stringify({ type: 'progress', ...p, cpuMicros: cpuMicros() }))
              : io.err(`-- ${p.elapsedSeconds}s: ${p.started} started, ${p.streaming} streaming, ${p.ended} ended, ${p.failed} failed`),
        }),
  });
  io.out(o.json ? JSON.stringify({ type: 'report', ...report }) : loadReportText(report));
  return report.failed === 0 && report.protocolErrors === 0 ? EXIT_OK : EXIT_FAILURE;
}
