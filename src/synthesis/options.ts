/**
 * Speech synthesis settings: the environment fragment and the options of each synthesizer. The
 * vendors' credentials and endpoints are those of the recognition engines (GOOGLE_* and
 * OPENAI_*), read from the same parsed environment; only what is particular to synthesis is new.
 *
 * flite, the default, may be missing (not installed where apt-get cannot run): the server still
 * starts, and what needs it is refused with the reason. A vendor chosen by TTS_PROVIDER that is
 * not configured is a configuration problem.
 */
import { z } from 'zod';
import { bool, hostPort, intIn } from '../config/env.js';
import { findExecutable } from '../config/executables.js';
import type { googleEnv } from '../engines/google/options.js';
import { openaiSetup, type openaiEnv } from '../engines/openai/options.js';
import { DEFAULT_CACHE_BYTES } from './cache.js';
import { DEFAULT_FLITE_VOICE, FLITE_NOT_INSTALLED, FLITE_VOICES, type FliteOptions } from './flite/index.js';
import { GOOGLE_TTS_ENDPOINT, type GoogleSynthesizerOptions } from './google/index.js';
import { DEFAULT_OPENAI_TTS_MODEL, DEFAULT_OPENAI_VOICE, type OpenAISynthesizerOptions } from './openai/index.js';

export const SYNTHESIZERS = ['flite', 'google', 'openai'] as const;
export type SynthesizerName = (typeof SYNTHESIZERS)[number];

export const synthesisEnv = {
  TTS_PROVIDER: z.string().trim().toLowerCase().pipe(z.enum(SYNTHESIZERS)).default('flite'),
  /** The TTS_PROVIDER synthesizer's default voice (the others keep their own defaults). */
  TTS_VOICE: z.string().trim().min(1).max(200).optional(),
  /** Memory for repeated prompts, MiB; 0 turns the cache off. */
  TTS_CACHE_MB: intIn(0, 4096).optional(),
  /** Path of the flite binary; default: `flite` on PATH. */
  FLITE_BINARY: z.string().trim().min(1).optional(),
  GOOGLE_TTS_ENDPOINT: hostPort.optional(),
  GOOGLE_TTS_INSECURE: bool.default(false),
  GOOGLE_TTS_TIMEOUT_MS: intIn(500, 120_000).default(10_000),
  OPENAI_TTS_MODEL: z.string().trim().min(1).default(DEFAULT_OPENAI_TTS_MODEL),
  OPENAI_TTS_VOICE: z.string().trim().min(1).max(200).default(DEFAULT_OPENAI_VOICE),
};

/** What synthesisSetup reads: this fragment, and the recognition engines' Google and OpenAI settings. */
export type SynthesisEnv = z.infer<z.ZodObject<typeof synthesisEnv>> &
  Pick<z.infer<z.ZodObject<typeof googleEnv>>, 'GOOGLE_APPLICATION_CREDENTIALS' | 'GOOGLE_CLOUD_PROJECT'> &
  z.infer<z.ZodObject<typeof openaiEnv>>;

export interface SynthesisOptions {
  /** TTS_PROVIDER. */
  defaultName: SynthesizerName;
  /** Cache budget per process, bytes (0: no cache). */
  cacheBytes: number;
  flite?: FliteOptions;
  google?: GoogleSynthesizerOptions;
  openai?: OpenAISynthesizerOptions;
  /** The synthesizers this server is not configured for, with why. */
  unconfigured: Partial<Record<SynthesizerName, string>>;
}

/** Unlike the engines' Setup, synthesis always has options: problems are set-but-wrong values. */
export interface SynthesisSetup {
  options: SynthesisOptions;
  problems: string[];
}

export function synthesisSetup(e: SynthesisEnv, production: boolean, pathEnv?: string): SynthesisSetup {
  const problems: string[] = [];
  const unconfigured: SynthesisOptions['unconfigured'] = {};
  const voiceFor = (name: SynthesizerName) => (e.TTS_PROVIDER === name ? e.TTS_VOICE : undefined);
  const options: SynthesisOptions = {
    defaultName: e.TTS_PROVIDER,
    cacheBytes: e.TTS_CACHE_MB === undefined ? DEFAULT_CACHE_BYTES : e.TTS_CACHE_MB * 1024 * 1024,
    unconfigured,
  };

  // flite
  const fliteVoice = voiceFor('flite') ?? DEFAULT_FLITE_VOICE;
  const binary = findExecutable(e.FLITE_BINARY ?? 'flite', pathEnv);
  if (!(FLITE_VOICES as readonly string[]).includes(fliteVoice)) {
    const problem = `TTS_VOICE: flite has no voice '${fliteVoice}' (${FLITE_VOICES.join(', ')})`;
    problems.push(problem);
    unconfigured.flite = problem;
  } else if (!binary) {
    // A path the operator chose that does not exist is an error; a missing package is not.
    if (e.FLITE_BINARY) problems.push(`FLITE_BINARY: ${e.FLITE_BINARY} is not an executable file`);
    unconfigured.flite = e.FLITE_BINARY ? `FLITE_BINARY: ${e.FLITE_BINARY} is not an executable file` : FLITE_NOT_INSTALLED;
  } else {
    options.flite = { binary, voice: fliteVoice };
  }

  // google
  const googleProblems: string[] = [];
  if (e.GOOGLE_TTS_INSECURE) {
    if (production) googleProblems.push('GOOGLE_TTS_INSECURE: not allowed when NODE_ENV=production (plain-text gRPC without authentication)');
    if (!e.GOOGLE_TTS_ENDPOINT) googleProblems.push('GOOGLE_TTS_INSECURE: needs GOOGLE_TTS_ENDPOINT (the local fake)');
  }
  const credentials = e.GOOGLE_APPLICATION_CREDENTIALS;
  if (googleProblems.length > 0) {
    problems.push(...googleProblems);
    unconfigured.google = googleProblems.join('; ');
  } else if (!credentials && !e.GOOGLE_TTS_INSECURE) {
    unconfigured.google = 'GOOGLE_APPLICATION_CREDENTIALS is not set (a service-account key file path or its JSON)';
  } else {
    const projectId = e.GOOGLE_CLOUD_PROJECT ?? credentials?.project_id;
    const voice = voiceFor('google');
    options.google = {
      endpoint: e.GOOGLE_TTS_ENDPOINT ?? GOOGLE_TTS_ENDPOINT,
      insecure: e.GOOGLE_TTS_INSECURE,
      ...(credentials ? { credentials } : {}),
      ...(projectId ? { projectId } : {}),
      ...(voice ? { voice } : {}),
      timeoutMs: e.GOOGLE_TTS_TIMEOUT_MS,
    };
  }

  // openai: the key, base URL, timeout and retries of the transcription engine (its own
  // problems are reported by the engine's setup, not again here).
  const openai = openaiSetup(e, production);
  if (!openai.configured) unconfigured.openai = openai.reason;
  else {
    options.openai = {
      apiKey: openai.options.apiKey,
      ...(openai.options.baseURL ? { baseURL: openai.options.baseURL } : {}),
      model: e.OPENAI_TTS_MODEL,
      voice: voiceFor('openai') ?? e.OPENAI_TTS_VOICE,
      timeoutMs: openai.options.timeoutMs,
      maxRetries: openai.options.maxRetries,
    };
  }

  const why = unconfigured[e.TTS_PROVIDER];
  if (why && e.TTS_PROVIDER !== 'flite' && !problems.some((p) => why.includes(p))) {
    problems.push(`TTS_PROVIDER: '${e.TTS_PROVIDER}' is not configured: ${why}`);
  }
  return { options, problems };
}
