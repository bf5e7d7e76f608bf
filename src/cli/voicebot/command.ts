/**
 * `audiohook-connector voicebot`: the command line around runVoiceBotCall. Output goes to injected
 * writers so tests can run it in-process. Returns the exit status (0 ok, 1 failure, violation or
 * — with --strict — a finding, 2 usage).
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { writeWav } from '../../audio/wav.js';
import { isUuid } from '../../protocol/auth.js';
import { DEFAULT_VOICEBOT_URL, PLACEHOLDER_API_KEY, USAGE, UsageError } from '../args.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliIo } from '../simulate.js';
import { eventLine, resultJson, summaryText } from './report.js';
import { runVoiceBotCall, type VoiceBotCallOptions } from './run.js';
import { loadScript, scriptFromFiles, ScriptError } from './script.js';

export interface VoiceBotArgs extends Omit<VoiceBotCallOptions, 'script'> {
  scriptPath?: string;
  files: string[];
  record?: string;
  strict: boolean;
  json: boolean;
}

function number(text: string | undefined, what: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text.replace(/s$/i, ''));
  if (!Number.isFinite(n) || n < min || (min === 0 && n <= 0)) throw new UsageError(`${what}: '${text}' must be a positive number`);
  return n;
}

/** `--connector ID` names the connector: the last path segment of the URL. */
export function withConnector(url: string, connector: string): string {
  if (!/^[A-Za-z0-9._~-]+$/.test(connector)) throw new UsageError(`--connector: '${connector}' is not a valid path segment`);
  const u = new URL(url);
  const parts = u.pathname.split('/');
  parts[parts.length - 1] = connector;
  u.pathname = parts.join('/');
  return u.toString();
}

/** Returns undefined for `--help`. Throws UsageError on anything invalid. */
export function parseVoiceBotArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): VoiceBotArgs | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        url: { type: 'string' },
        connector: { type: 'string' },
        'api-key': { type: 'string' },
        'client-secret': { type: 'string' },
        'org-id': { type: 'string' },
        language: { type: 'string' },
        var: { type: 'string', multiple: true },
        ani: { type: 'string' },
        dnis: { type: 'string' },
        script: { type: 'string' },
        record: { type: 'string' },
        'no-playback-events': { type: 'boolean' },
        'max-seconds': { type: 'string' },
        'max-lead-ms': { type: 'string' },
        'prompt-timeout': { type: 'string' },
        'expect-no-audio': { type: 'boolean' },
        strict: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return undefined;

  let url = v.url ?? DEFAULT_VOICEBOT_URL;
  try {
    const u = new URL(url);
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new UsageError('--url must be ws:// or wss://');
  } catch (err) {
    throw err instanceof UsageError ? err : new UsageError(`--url: '${url}' is not a URL`);
  }
  if (v.connector !== undefined) url = withConnector(url, v.connector);

  const clientSecret = v['client-secret'] ?? env.GENESYS_CLIENT_SECRET ?? '';
  if (clientSecret && !/^[A-Za-z0-9+/_-]+={0,2}$/.test(clientSecret)) throw new UsageError('--client-secret must be base64');
  const orgFromEnv = (env.GENESYS_ORG_ID ?? '').split(',')[0]?.trim();
  const organizationId = v['org-id'] ?? (orgFromEnv || randomUUID());
  if (!isUuid(organizationId)) throw new UsageError(`--org-id: '${organizationId}' is not a UUID`);

  const inputVariables: Record<string, string> = {};
  for (const text of v.var ?? []) {
    const i = text.indexOf('=');
    if (i <= 0) throw new UsageError(`--var: '${text}' must look like NAME=VALUE`);
    inputVariables[text.slice(0, i)] = text.slice(i + 1);
  }
  const files = parsed.positionals;
  if (v.script !== undefined && files.length > 0) throw new UsageError('give either --script or WAV files, not both');
  if (v.script === undefined && files.length === 0) throw new UsageError('missing the caller: --script script.json or WAV files');

  const args: VoiceBotArgs = {
    url,
    apiKey: v['api-key'] ?? (env.GENESYS_API_KEY || PLACEHOLDER_API_KEY),
    organizationId,
    language: v.language ?? 'en-US',
    inputVariables,
    ani: v.ani ?? '+13175550100',
    dnis: v.dnis ?? '+13175550199',
    maxSeconds: number(v['max-seconds'], '--max-seconds', 0) ?? 120,
    maxLeadMs: number(v['max-lead-ms'], '--max-lead-ms', 0) ?? 1000,
    promptTimeoutSeconds: number(v['prompt-timeout'], '--prompt-timeout', 0) ?? 15,
    playbackEvents: !v['no-playback-events'],
    expectNoAudio: v['expect-no-audio'] ?? false,
    files,
    strict: v.strict ?? false,
    json: v.json ?? false,
  };
  if (clientSecret) args.clientSecret = clientSecret;
  if (v.script !== undefined) args.scriptPath = v.script;
  if (v.record !== undefined) args.record = v.record;
  return args;
}

export async function voicebot(argv: string[], io: CliIo): Promise<number> {
  let args: VoiceBotArgs | undefined;
  try {
    args = parseVoiceBotArgs(argv, io.env ?? process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    throw err;
  }
  if (!args) {
    io.out(USAGE);
    return EXIT_OK;
  }
  const { scriptPath, files, record, strict, json, ...callOptions } = args;
  let script;
  try {
    script = scriptPath !== undefined ? await loadScript(scriptPath) : await scriptFromFiles(files);
  } catch (err) {
    if (err instanceof ScriptError) {
      io.err(`error: ${err.message}`);
      return EXIT_USAGE;
    }
    throw err;
  }

  if (!json) io.err(`-- calling ${args.url} (${script.steps.length} script step${script.steps.length === 1 ? '' : 's'})`);
  const result = await runVoiceBotCall(
    { ...callOptions, script },
    { ...(json ? {} : { onEvent: (e) => io.out(eventLine(e)) }), ...(io.signal ? { signal: io.signal } : {}) },
  );
  let recorded = true;
  if (record !== undefined) {
    try {
      await writeFile(record, writeWav({ sampleRate: 8000, channels: 1, format: 'PCMU', data: result.recording }));
      if (!json) io.err(`-- bot audio written to ${record} (${(result.recording.length / 8000).toFixed(1)} s)`);
    } catch (err) {
      io.err(`error: cannot write ${record}: ${(err as Error).message}`);
      recorded = false;
    }
  }
  const passed = result.ok && recorded && (!strict || result.clean);
  if (json) io.out(resultJson(result));
  else (passed ? io.out : io.err)(summaryText(result));
  return passed ? EXIT_OK : EXIT_FAILURE;
}
