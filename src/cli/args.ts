/** Command line of `simulate`: parsing and validation into one options object, and the usage text. */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { isUuid } from '../protocol/auth.js';
import type { CallScript } from './client/script.js';

export class UsageError extends Error {}

export const DEFAULT_URL = 'ws://127.0.0.1:8080/audiohook';
/** Sent when no key is configured: servers with authentication disabled accept any key. */
export const PLACEHOLDER_API_KEY = 'simulator-api-key';

export const DEFAULT_VOICEBOT_URL = 'ws://127.0.0.1:8080/audioconnector/demo';

/** `voicebot`: plays the caller to a voice bot the way Genesys Audio Connector does (src/cli/voicebot/). */
export const VOICEBOT_USAGE = `voicebot options (plus --url, --api-key, --client-secret, --org-id, --language as above):
  --url URL                  Audio Connector endpoint (default ${DEFAULT_VOICEBOT_URL})
  --connector ID             replaces the last path segment of the URL (the Architect connector id)
  --var NAME=VALUE           open.inputVariables (repeatable)
  --ani NUMBER --dnis NUMBER caller and called numbers (participant ani/dnis)
  --script FILE              caller script: {"steps":[{"after":"prompt"|"prompt-start"|SEC, "delay"?:SEC,
                             "timeout"?:SEC, "play"?:"x.wav", "dtmf"?:"12#", "hangup"?:true}]}; without it
                             each <turn.wav> (8 kHz mono µ-law or PCM16) is said after a prompt, then hang up
  --record OUT.wav           write the bot's audio (8 kHz µ-law, on the call's timeline)
  --no-playback-events       do not send playback_started / playback_completed
  --max-seconds SEC          hang up after SEC seconds (default 120)
  --max-lead-ms MS           how far the bot audio may run ahead of real time (default 1000)
  --prompt-timeout SEC       how long a step waits for a prompt (default 15)
  --expect-no-audio          any binary audio from the server is a finding
  --strict                   findings about the bot audio and events fail the run (exit 1)
  --json                     one JSON summary object at the end instead of the live lines`;

export const USAGE = `Usage:
  audiohook-connector simulate [options] <call.wav>          stream one call, print transcripts
  audiohook-connector simulate --probe [options]             connection probe, print supported languages
  audiohook-connector simulate --sessions N [--rate R] [--loop --duration SEC] <call.wav>   load test

  audiohook-connector voicebot [options] [--script script.json | <turn.wav>...]   call a voice bot (Audio Connector)

  (from a checkout: npm run simulate -- [options] <call.wav>, npm run voicebot -- [options] …)

Connection:
  --url URL                  AudioHook endpoint (default ${DEFAULT_URL})
  --api-key KEY              X-API-KEY (default $GENESYS_API_KEY, else a placeholder)
  --client-secret BASE64     sign the upgrade (default $GENESYS_CLIENT_SECRET; unsigned when absent)
  --org-id UUID              organization id (default first of $GENESYS_ORG_ID, else random)
Session:
  --language TAG             open.language (default en-US)
  --custom-config JSON       merged into open.customConfig (repeatable, later wins)
  --interim                  ask for interim results (customConfig.interimResults = true)
  --supported-languages      ask the server for its languages in opened
  --speed N                  stream N times faster than real time (default 1)
  --answer-429 SEC           as Genesys: answer events over 5/s (burst 25) with error 429, retryAfter SEC;
                             an event sent during that hold is then a protocol violation
Scripted client events (stream seconds, 200 ms grid):
  --pause-at T --resume-at T         client pause (hold) and resume
  --discard-at T:DUR                 drop DUR seconds of audio at T (repeatable)
  --update-language-at T:LANG        switch language at T (repeatable)
Load:
  --sessions N               run N sessions (load mode)
  --rate R                   sessions started per second (default 10)
  --duration SEC             stream SEC seconds per session (cuts the file short, or with --loop repeats it)
  --loop                     repeat the file until --duration
Output:
  --json                     JSON lines instead of text (transcripts, notices, summary/report)
  --quiet                    no live transcripts, only the summary
  -h, --help                 this text

Exit status: 0 ok, 1 session failure or server protocol violation, 2 usage error.

${VOICEBOT_USAGE}`;

export interface SimulateOptions {
  mode: 'call' | 'probe' | 'load';
  file?: string;
  url: string;
  apiKey: string;
  clientSecret?: string;
  organizationId: string;
  language: string;
  customConfig: Record<string, unknown>;
  supportedLanguages: boolean;
  speed: number;
  /** retryAfter of the 429s answering events over Genesys' rate; absent: only count them. */
  answer429?: number;
  script: CallScript;
  sessions: number;
  rate: number;
  loop: boolean;
  durationSeconds?: number;
  json: boolean;
  quiet: boolean;
}

/** Seconds: `12`, `12.5`, `12s`, or a `PT12.5S` Duration. */
function seconds(text: string, what: string): number {
  const m = /^(?:PT)?(\d+(?:\.\d+)?)s?$/i.exec(text.trim());
  if (!m) throw new UsageError(`${what}: '${text}' is not a number of seconds`);
  return Number(m[1]);
}

function positive(text: string | undefined, what: string, integer = false): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${what}: '${text}' must be a positive ${integer ? 'whole number' : 'number'}`);
  }
  return n;
}

function splitPair(text: string, what: string): [string, string] {
  const i = text.indexOf(':');
  if (i <= 0 || i === text.length - 1) throw new UsageError(`${what}: '${text}' must look like T:VALUE`);
  return [text.slice(0, i), text.slice(i + 1)];
}

/** Returns undefined for `--help`. Throws UsageError on anything invalid. */
export function parseSimulateArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): SimulateOptions | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        url: { type: 'string' },
        'api-key': { type: 'string' },
        'client-secret': { type: 'string' },
        'org-id': { type: 'string' },
        language: { type: 'string' },
        'custom-config': { type: 'string', multiple: true },
        'supported-languages': { type: 'boolean' },
        interim: { type: 'boolean' },
        speed: { type: 'string' },
        'answer-429': { type: 'string' },
        'pause-at': { type: 'string' },
        'resume-at': { type: 'string' },
        'discard-at': { type: 'string', multiple: true },
        'update-language-at': { type: 'string', multiple: true },
        probe: { type: 'boolean' },
        sessions: { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        loop: { type: 'boolean' },
        json: { type: 'boolean' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return undefined;

  const url = v.url ?? DEFAULT_URL;
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(url);
  } catch {
    throw new UsageError(`--url: '${url}' is not a URL`);
  }
  if (parsedUrl.protocol !== 'ws:' && parsedUrl.protocol !== 'wss:') throw new UsageError('--url must be ws:// or wss://');

  const clientSecret = v['client-secret'] ?? env.GENESYS_CLIENT_SECRET ?? '';
  if (clientSecret && !/^[A-Za-z0-9+/_-]+={0,2}$/.test(clientSecret)) throw new UsageError('--client-secret must be base64');
  const orgFromEnv = (env.GENESYS_ORG_ID ?? '').split(',')[0]?.trim();
  const organizationId = v['org-id'] ?? (orgFromEnv || randomUUID());
  if (!isUuid(organizationId)) throw new UsageError(`--org-id: '${organizationId}' is not a UUID`);

  const customConfig: Record<string, unknown> = {};
  for (const text of v['custom-config'] ?? []) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new UsageError(`--custom-config: not valid JSON: ${text}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new UsageError('--custom-config must be a JSON object');
    }
    Object.assign(customConfig, value);
  }
  if (v.interim) customConfig.interimResults = true;

  const script: CallScript = { discards: [], languageUpdates: [] };
  if (v['pause-at'] !== undefined) script.pauseAt = seconds(v['pause-at'], '--pause-at');
  if (v['resume-at'] !== undefined) {
    if (script.pauseAt === undefined) throw new UsageError('--resume-at needs --pause-at');
    script.resumeAt = seconds(v['resume-at'], '--resume-at');
    if (script.resumeAt <= script.pauseAt) throw new UsageError('--resume-at must be after --pause-at');
  }
  for (const text of v['discard-at'] ?? []) {
    const [t, d] = splitPair(text, '--discard-at');
    const duration = seconds(d, '--discard-at duration');
    if (duration <= 0) throw new UsageError('--discard-at duration must be positive');
    script.discards.push({ at: seconds(t, '--discard-at'), duration });
  }
  for (const text of v['update-language-at'] ?? []) {
    const [t, language] = splitPair(text, '--update-language-at');
    script.languageUpdates.push({ at: seconds(t, '--update-language-at'), language });
  }

  const sessions = positive(v.sessions, '--sessions', true);
  const durationSeconds = v.duration === undefined ? undefined : seconds(v.duration, '--duration');
  if (v.loop && durationSeconds === undefined) throw new UsageError('--loop needs --duration');
  const mode = v.probe ? 'probe' : sessions !== undefined ? 'load' : 'call';
  if (v.probe && sessions !== undefined) throw new UsageError('--probe and --sessions are exclusive');
  const file = parsed.positionals[0];
  if (parsed.positionals.length > 1) throw new UsageError(`one WAV file expected, got ${parsed.positionals.length}`);
  if (mode !== 'probe' && file === undefined) throw new UsageError('missing the WAV file to stream');

  const options: SimulateOptions = {
    mode,
    url,
    apiKey: v['api-key'] ?? (env.GENESYS_API_KEY || PLACEHOLDER_API_KEY),
    organizationId,
    language: v.language ?? 'en-US',
    customConfig,
    supportedLanguages: v['supported-languages'] ?? false,
    speed: positive(v.speed, '--speed') ?? 1,
    script,
    sessions: sessions ?? 1,
    rate: positive(v.rate, '--rate') ?? 10,
    loop: v.loop ?? false,
    json: v.json ?? false,
    quiet: v.quiet ?? false,
  };
  if (file !== undefined && mode !== 'probe') options.file = file;
  if (clientSecret) options.clientSecret = clientSecret;
  if (durationSeconds !== undefined) options.durationSeconds = durationSeconds;
  if (v['answer-429'] !== undefined) {
    const retryAfter = seconds(v['answer-429'], '--answer-429');
    if (retryAfter <= 0) throw new UsageError('--answer-429 must be a positive number of seconds');
    options.answer429 = retryAfter;
  }
  return options;
}
