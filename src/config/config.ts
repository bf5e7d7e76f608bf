/**
 * Configuration from the environment (and `.env`, loaded by the entry point).
 *
 * Names match the existing Python connector where one existed, so this server is a drop-in
 * replacement. Invalid configuration is reported as one line per problem and stops start-up.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { isUuid } from '../protocol/auth.js';
import { bool, csv, intIn, positiveNumber } from './env.js';
import { googleEnv, googleSetup, type GoogleEngineOptions } from '../engines/google/options.js';
import { segmenterEnv, segmenterSetup, type SegmenterOptions } from '../engines/kit/options.js';
import { openaiEnv, openaiSetup, type OpenAIEngineOptions } from '../engines/openai/options.js';
import { localEnv, localSetup, type LocalEngineOptions } from '../engines/local/options.js';
import { normalizeLanguageTag } from '../protocol/language.js';
import { translationEnv, translationSetup, type TranslationOptions } from '../translation/options.js';
import { voiceBotEnv, voiceBotSetup, type VoiceBotOptions } from '../voicebot/options.js';
import { synthesisEnv, synthesisSetup, type SynthesisOptions } from '../synthesis/options.js';

const base64Secret = z
  .string()
  .trim()
  .refine((v) => v === '' || (/^[A-Za-z0-9+/_-]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length > 0), 'must be base64');

const apiKeysJson = z
  .string()
  .transform((v, ctx) => {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object {"apiKey": "base64 client secret or empty"}' });
      return z.NEVER;
    }
  })
  .pipe(z.record(z.string().min(1), z.union([z.literal(''), base64Secret])));

/** A BCP-47 tag, in canonical case (the user's subtags kept: see protocol/language.ts). */
const languageTag = z.string().transform((tag, ctx) => {
  const canonical = normalizeLanguageTag(tag);
  if (canonical) return canonical;
  ctx.addIssue({ code: 'custom', message: `'${tag}' is not a BCP-47 language tag (comma-separated tags such as en-US,es-ES)` });
  return z.NEVER;
});

const envSchema = z.object({
  NODE_ENV: z.string().default('development'),
  PORT: intIn(0, 65535).default(8080),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  AUDIOHOOK_PATH: z.string().trim().regex(/^\/\S*$/, 'must start with /').default('/audiohook'),
  GENESYS_API_KEY: z.string().trim().default(''),
  GENESYS_CLIENT_SECRET: base64Secret.default(''),
  GENESYS_API_KEYS: apiKeysJson.optional(),
  GENESYS_ORG_ID: csv
    .pipe(z.array(z.string().refine(isUuid, 'must be UUIDs, comma-separated')))
    .default([]),
  SUPPORTED_LANGUAGES: csv.pipe(z.array(languageTag).min(1)).optional(),
  DEFAULT_SPEECH_PROVIDER: z.string().trim().toLowerCase().default('local'),
  FALLBACK_SPEECH_PROVIDER: z.string().trim().toLowerCase().optional(),
  ENGINE_STALL_SECONDS: positiveNumber.default(30),
  SIMULATED_END_SILENCE_MS: intIn(100, 5000).default(400),
  DEBUG: bool.default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MAX_SESSIONS: intIn(1, 1_000_000).default(2500),
  RATE_LIMIT_PER_SECOND: positiveNumber.default(5),
  RATE_LIMIT_BURST: intIn(1, 10_000).default(25),
  OUTBOUND_QUEUE_MAX: intIn(10, 100_000).default(500),
  RETRY_AFTER_DEFAULT_MS: intIn(0, 600_000).default(3000),
  IDLE_TIMEOUT_SECONDS: positiveNumber.default(60),
  OPEN_TIMEOUT_SECONDS: positiveNumber.default(10),
  CLOSE_FLUSH_TIMEOUT_MS: intIn(0, 60_000).default(8000),
  INTERIM_RESULTS: bool.default(false),
  TOKEN_LANGUAGE: z.enum(['full', 'primary']).default('full'),
  SEND_UPDATED: bool.default(false),
  AUTH_FAILURE_DELAY_MS: intIn(0, 10_000).default(500),
  SIGNATURE_MAX_AGE_SECONDS: intIn(1, 3600).default(10),
  TRUST_PROXY: bool.default(false),
  SHUTDOWN_GRACE_SECONDS: positiveNumber.default(30),
  WEB_CONCURRENCY: intIn(1, 256).optional(),
  METRICS_TOKEN: z.string().trim().min(16, 'must be at least 16 characters (it guards /metrics and /stats)').optional(),
  LOG_TRANSCRIPTS: bool.default(false),
  ...googleEnv,
  ...openaiEnv,
  ...localEnv,
  ...segmenterEnv,
  ...translationEnv,
  ...voiceBotEnv,
  ...synthesisEnv,
});

export type Env = z.infer<typeof envSchema>;

/** Every setting the configuration reads (documented in .env.example and the README). */
export const SETTING_NAMES: readonly string[] = Object.keys(envSchema.shape);

export interface Config {
  production: boolean;
  port: number;
  host: string;
  path: string;
  /** apiKey → base64 client secret ('' = unsigned allowed). null = authentication disabled (development only). */
  apiKeys: ReadonlyMap<string, string> | null;
  allowedOrgIds: ReadonlySet<string> | null;
  /** SUPPORTED_LANGUAGES, canonical; undefined when not set (the probe then lists what the engines declare). */
  supportedLanguages: string[] | undefined;
  /** The session language when `open` names none: the first of SUPPORTED_LANGUAGES, else en-US. */
  defaultLanguage: string;
  defaultVendor: string;
  /** FALLBACK_SPEECH_PROVIDER: the engine a call continues on when its own cannot recover. */
  fallbackVendor: string | undefined;
  /** An engine stream given audio that answers nothing this long is restarted (then failed over). */
  engineStallMs: number;
  /** Silence that ends an utterance of the `simulated` engine. */
  simulatedEndSilenceMs: number;
  logLevel: Env['LOG_LEVEL'];
  maxSessions: number;
  rateLimit: { perSecond: number; burst: number; maxQueued: number; defaultRetryAfterMs: number };
  idleTimeoutMs: number;
  openTimeoutMs: number;
  closeFlushTimeoutMs: number;
  interimResults: boolean;
  tokenLanguage: 'full' | 'primary';
  sendUpdated: boolean;
  authFailureDelayMs: number;
  signatureMaxAgeSeconds: number;
  trustProxy: boolean;
  shutdownGraceMs: number;
  /** Worker processes sharing the port (node:cluster); 1 = this process serves alone. */
  workers: number;
  /** Bearer token required by /metrics and /stats; undefined = open (keep them off the public route). */
  metricsToken: string | undefined;
  /** Transcript text in the logs, at debug only (LOG_TRANSCRIPTS). */
  logTranscripts: boolean;
  /** Options of each vendor engine this server is configured for. */
  engines: { google?: GoogleEngineOptions; openai?: OpenAIEngineOptions; local?: LocalEngineOptions };
  /** The utterance buffer (voice activity detection) of the utterance engines (openai, local). */
  utterance: Required<SegmenterOptions>;
  /** Vendor engines the product has but this server is not configured for, with why. */
  unconfiguredEngines: Record<string, string>;
  /** Voice-bot sessions (Audio Connector): their path, bots, turn and barge-in settings. */
  voiceBot: VoiceBotOptions;
  /** Speech synthesis for the bots' prompts (TTS_PROVIDER and each synthesizer's settings). */
  synthesis: SynthesisOptions;
  /** Translation with Gemini, when configured (else why not). */
  translation: { configured: true; options: TranslationOptions } | { configured: false; reason: string };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** Reads the configuration; throws ConfigError listing every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty variables mean "not set", as in the Python connector's .env files.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];

  const keys = new Map<string, string>(Object.entries(e.GENESYS_API_KEYS ?? {}));
  if (e.GENESYS_API_KEY) keys.set(e.GENESYS_API_KEY, e.GENESYS_CLIENT_SECRET);
  else if (e.GENESYS_CLIENT_SECRET) problems.push('GENESYS_CLIENT_SECRET: set without GENESYS_API_KEY');
  const production = e.NODE_ENV === 'production';
  if (keys.size === 0 && production) {
    problems.push('GENESYS_API_KEY: required in production (or GENESYS_API_KEYS); without it anyone could connect');
  }

  const engines: Config['engines'] = {};
  const unconfiguredEngines: Record<string, string> = {};
  const google = googleSetup(e, production);
  if (google.configured) engines.google = google.options;
  else {
    unconfiguredEngines['google'] = google.reason;
    problems.push(...google.problems);
  }
  const openai = openaiSetup(e, production);
  if (openai.configured) engines.openai = openai.options;
  else {
    unconfiguredEngines['openai'] = openai.reason;
    problems.push(...openai.problems);
  }
  const local = localSetup(e);
  if (local.configured) engines.local = local.options;
  else {
    unconfiguredEngines['local'] = local.reason;
    problems.push(...local.problems);
  }
  // The offline default may be missing (not installed where apt-get cannot run): the server still
  // starts, says so once, and sessions that need it are refused with the reason.
  const defaultUnconfigured = e.DEFAULT_SPEECH_PROVIDER === 'local' ? undefined : unconfiguredEngines[e.DEFAULT_SPEECH_PROVIDER];
  if (defaultUnconfigured && !problems.some((p) => defaultUnconfigured.includes(p))) {
    problems.push(`DEFAULT_SPEECH_PROVIDER: '${e.DEFAULT_SPEECH_PROVIDER}' is not configured: ${defaultUnconfigured}`);
  }
  if (e.FALLBACK_SPEECH_PROVIDER && e.FALLBACK_SPEECH_PROVIDER !== 'local' && e.FALLBACK_SPEECH_PROVIDER !== 'simulated') {
    const why = unconfiguredEngines[e.FALLBACK_SPEECH_PROVIDER];
    if (why) problems.push(`FALLBACK_SPEECH_PROVIDER: '${e.FALLBACK_SPEECH_PROVIDER}' is not configured: ${why}`);
    else if (!['google', 'openai'].includes(e.FALLBACK_SPEECH_PROVIDER)) {
      problems.push(`FALLBACK_SPEECH_PROVIDER: unknown engine '${e.FALLBACK_SPEECH_PROVIDER}' (google, openai, local, simulated)`);
    }
  }
  const translation = translationSetup(e, production, { project: e.GOOGLE_CLOUD_PROJECT, credentials: e.GOOGLE_APPLICATION_CREDENTIALS });
  if (!translation.configured) problems.push(...translation.problems);
  else if (translation.options.timeoutMs >= e.CLOSE_FLUSH_TIMEOUT_MS) {
    problems.push(`TRANSLATION_TIMEOUT_MS: must be shorter than CLOSE_FLUSH_TIMEOUT_MS (${e.CLOSE_FLUSH_TIMEOUT_MS}), so the last translations leave before closed`);
  }
  const voiceBot = voiceBotSetup(e, production);
  problems.push(...voiceBot.problems);
  const synthesis = synthesisSetup(e, production);
  problems.push(...synthesis.problems);
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    production,
    port: e.PORT,
    host: e.HOST,
    path: e.AUDIOHOOK_PATH,
    apiKeys: keys.size > 0 ? keys : null,
    allowedOrgIds: e.GENESYS_ORG_ID.length > 0 ? new Set(e.GENESYS_ORG_ID.map((o) => o.toLowerCase())) : null,
    supportedLanguages: e.SUPPORTED_LANGUAGES,
    defaultLanguage: e.SUPPORTED_LANGUAGES?.[0] ?? 'en-US',
    defaultVendor: e.DEFAULT_SPEECH_PROVIDER,
    fallbackVendor: e.FALLBACK_SPEECH_PROVIDER,
    engineStallMs: e.ENGINE_STALL_SECONDS * 1000,
    simulatedEndSilenceMs: e.SIMULATED_END_SILENCE_MS,
    logLevel: e.DEBUG ? 'debug' : e.LOG_LEVEL,
    maxSessions: e.MAX_SESSIONS,
    rateLimit: {
      perSecond: e.RATE_LIMIT_PER_SECOND,
      burst: e.RATE_LIMIT_BURST,
      maxQueued: e.OUTBOUND_QUEUE_MAX,
      defaultRetryAfterMs: e.RETRY_AFTER_DEFAULT_MS,
    },
    idleTimeoutMs: e.IDLE_TIMEOUT_SECONDS * 1000,
    openTimeoutMs: e.OPEN_TIMEOUT_SECONDS * 1000,
    closeFlushTimeoutMs: e.CLOSE_FLUSH_TIMEOUT_MS,
    interimResults: e.INTERIM_RESULTS,
    tokenLanguage: e.TOKEN_LANGUAGE,
    sendUpdated: e.SEND_UPDATED,
    authFailureDelayMs: e.AUTH_FAILURE_DELAY_MS,
    signatureMaxAgeSeconds: e.SIGNATURE_MAX_AGE_SECONDS,
    trustProxy: e.TRUST_PROXY,
    shutdownGraceMs: e.SHUTDOWN_GRACE_SECONDS * 1000,
    // One per core in production; one in development, where a debugger or a profile wants one process.
    workers: e.WEB_CONCURRENCY ?? (production ? availableParallelism() : 1),
    metricsToken: e.METRICS_TOKEN,
    logTranscripts: e.LOG_TRANSCRIPTS,
    engines,
    unconfiguredEngines,
    utterance: segmenterSetup(e),
    voiceBot: voiceBot.options,
    synthesis: synthesis.options,
    translation: translation.configured ? { configured: true, options: translation.options } : { configured: false, reason: translation.reason },
  };
}
