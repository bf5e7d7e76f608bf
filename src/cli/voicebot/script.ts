/**
 * The caller script of `voicebot`: what the simulated caller says (WAV files) and dials (DTMF),
 * and when, relative to the bot's prompts. Parsed and validated here, with the audio loaded, so
 * a call never starts on a script that would fail half-way.
 *
 *   { "steps": [ { "after": "prompt" | "prompt-start" | <seconds>, "delay"?: s, "timeout"?: s,
 *                  "play"?: "file.wav", "dtmf"?: "12#", "hold"?: s, "hangup"?: true }, … ] }
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { decodeMulaw } from '../../audio/mulaw.js';
import { parseWav } from '../../audio/wav.js';
import { SAMPLE_RATE } from '../../protocol/media.js';

export class ScriptError extends Error {}

export type StepTrigger =
  /** When the bot's current (or next) prompt has finished playing, then AFTER_PROMPT_MS. */
  | { kind: 'prompt' }
  /** When the bot starts speaking (its current prompt, or the next one). */
  | { kind: 'prompt-start' }
  /** This many seconds after the previous step finished; ≤ 0 overlaps it (never before it started). */
  | { kind: 'seconds'; seconds: number };

export interface CallerAudio {
  /** File name, for output. */
  name: string;
  /** 8 kHz mono PCM16. */
  pcm: Int16Array;
  durationSeconds: number;
}

export interface ScriptStep {
  trigger: StepTrigger;
  /** Extra seconds after the trigger. */
  delay: number;
  /** Seconds to wait for a prompt before going on anyway (`prompt` / `prompt-start` triggers). */
  timeout?: number;
  play?: CallerAudio;
  dtmf?: string;
  hangup: boolean;
  /** Put the call on hold for this many seconds (`paused`, no audio, then `resumed`), as Genesys does. */
  hold?: number;
}

export interface VoiceBotScript {
  steps: ScriptStep[];
}

const DTMF_DIGITS = /^[0-9*#A-D]+$/;
const STEP_KEYS = new Set(['after', 'delay', 'timeout', 'play', 'dtmf', 'hold', 'hangup', 'comment']);

/** An 8 kHz mono WAV (PCM16 or µ-law) as PCM16; anything else is refused with the fix. */
export function callerAudioFromWav(name: string, bytes: Uint8Array): CallerAudio {
  let wav;
  try {
    wav = parseWav(bytes);
  } catch (err) {
    throw new ScriptError(`${name}: ${(err as Error).message}`);
  }
  const fix = `convert it with: sox ${name} -r 8000 -e mu-law -c 1 out.wav`;
  if (wav.sampleRate !== SAMPLE_RATE) throw new ScriptError(`${name}: ${wav.sampleRate} Hz, the caller audio must be 8000 Hz; ${fix}`);
  if (wav.channels !== 1) throw new ScriptError(`${name}: ${wav.channels} channels, the caller audio must be mono; ${fix}`);
  let pcm: Int16Array;
  if (wav.format === 'PCMU') pcm = decodeMulaw(wav.data);
  else {
    // Copied through a DataView: the data chunk need not be 2-byte aligned in the file buffer.
    const view = new DataView(wav.data.buffer, wav.data.byteOffset, wav.data.byteLength);
    pcm = new Int16Array(wav.data.byteLength >> 1);
    for (let i = 0; i < pcm.length; i++) pcm[i] = view.getInt16(2 * i, true);
  }
  return { name, pcm, durationSeconds: pcm.length / SAMPLE_RATE };
}

export async function loadCallerAudio(path: string): Promise<CallerAudio> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new ScriptError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return callerAudioFromWav(basename(path), bytes);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A step as written, before its audio is loaded. */
interface RawStep extends Omit<ScriptStep, 'play'> {
  playPath?: string;
}

function parseStep(raw: unknown, i: number, baseDir: string): RawStep {
  const where = `step ${i + 1}`;
  if (!isObject(raw)) throw new ScriptError(`${where}: must be an object`);
  const unknown = Object.keys(raw).filter((k) => !STEP_KEYS.has(k));
  if (unknown.length > 0) throw new ScriptError(`${where}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
  const { after } = raw;
  let trigger: StepTrigger;
  if (after === 'prompt' || after === 'prompt-start') trigger = { kind: after };
  else if (typeof after === 'number' && Number.isFinite(after)) trigger = { kind: 'seconds', seconds: after };
  else throw new ScriptError(`${where}: "after" must be "prompt", "prompt-start" or a number of seconds, got ${JSON.stringify(after)}`);
  const seconds = (key: 'delay' | 'timeout' | 'hold'): number | undefined => {
    const v = raw[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (key !== 'delay' && v === 0)) {
      throw new ScriptError(`${where}: "${key}" must be a ${key !== 'delay' ? 'positive' : 'non-negative'} number of seconds`);
    }
    return v;
  };
  const step: RawStep = { trigger, delay: seconds('delay') ?? 0, hangup: false };
  const timeout = seconds('timeout');
  if (timeout !== undefined) step.timeout = timeout;
  const hold = seconds('hold');
  if (hold !== undefined) step.hold = hold;
  if (raw.play !== undefined) {
    if (typeof raw.play !== 'string' || raw.play === '') throw new ScriptError(`${where}: "play" must be a file name`);
    step.playPath = resolve(baseDir, raw.play);
  }
  if (raw.dtmf !== undefined) {
    if (typeof raw.dtmf !== 'string' || !DTMF_DIGITS.test(raw.dtmf)) {
      throw new ScriptError(`${where}: "dtmf" must be digits from 0-9 * # A-D, got ${JSON.stringify(raw.dtmf)}`);
    }
    step.dtmf = raw.dtmf;
  }
  if (raw.hangup !== undefined) {
    if (typeof raw.hangup !== 'boolean') throw new ScriptError(`${where}: "hangup" must be true or false`);
    step.hangup = raw.hangup;
  }
  if (step.playPath === undefined && step.dtmf === undefined && step.hold === undefined && !step.hangup) {
    throw new ScriptError(`${where}: does nothing (give "play", "dtmf", "hold" or "hangup")`);
  }
  return step;
}

/** Validates a script's JSON text; file paths are resolved against `baseDir` but not read. */
export function parseScriptText(text: string, baseDir: string): RawStep[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ScriptError(`not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(json) || !Array.isArray(json.steps)) throw new ScriptError('must be an object with a "steps" array');
  if (json.steps.length === 0) throw new ScriptError('"steps" is empty');
  const steps = json.steps.map((s, i) => parseStep(s, i, baseDir));
  const hangup = steps.findIndex((s) => s.hangup);
  if (hangup !== -1 && hangup !== steps.length - 1) throw new ScriptError(`step ${hangup + 1}: "hangup" must be on the last step`);
  return steps;
}

async function withAudio(raw: RawStep[]): Promise<VoiceBotScript> {
  const cache = new Map<string, Promise<CallerAudio>>();
  const steps: ScriptStep[] = [];
  for (const [i, r] of raw.entries()) {
    const { playPath, ...step } = r;
    if (playPath !== undefined) {
      if (!cache.has(playPath)) cache.set(playPath, loadCallerAudio(playPath));
      try {
        (step as ScriptStep).play = await (cache.get(playPath) as Promise<CallerAudio>);
      } catch (err) {
        throw new ScriptError(`step ${i + 1}: ${(err as Error).message}`);
      }
    }
    steps.push(step);
  }
  return { steps };
}

/** Reads, validates and loads a script file (WAV paths relative to it). Throws ScriptError. */
export async function loadScript(path: string): Promise<VoiceBotScript> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ScriptError(`cannot read script ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return await withAudio(parseScriptText(text, dirname(resolve(path))));
  } catch (err) {
    throw err instanceof ScriptError ? new ScriptError(`${basename(path)}: ${err.message}`) : err;
  }
}

/** Positional WAVs: one per turn, each after the bot's prompt, then hang up after the bot's answer. */
export async function scriptFromFiles(paths: readonly string[]): Promise<VoiceBotScript> {
  const raw: RawStep[] = paths.map((p) => ({ trigger: { kind: 'prompt' }, delay: 0, hangup: false, playPath: resolve(p) }));
  raw.push({ trigger: { kind: 'prompt' }, delay: 0, hangup: true });
  return withAudio(raw);
}
