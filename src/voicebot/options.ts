/**
 * Voice-bot mode (Genesys Audio Connector) settings: the environment fragment and what it comes
 * to. A session whose path starts with AUDIO_CONNECTOR_PATH is a voice-bot session; the path's
 * last segment is Architect's "Connector ID", which picks the bot (BOTS), else BOT_WEBHOOK_URL.
 */
import { z } from 'zod';
import { bool, intIn, isLocalUrl } from '../config/env.js';
import { normalizeLanguageTag } from '../protocol/language.js';
import type { BotEndpoint } from './bot/types.js';

const httpUrl = z.string().trim().pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }));

const botEntry = z.object({
  url: httpUrl,
  secret: z.string().min(16, 'secret must be at least 16 characters').optional(),
  format: z.enum(['webhook', 'rasa']).default('webhook'),
  tts: z.string().trim().toLowerCase().optional(),
  voice: z.string().trim().min(1).optional(),
  language: z
    .string()
    .trim()
    .transform((tag, ctx) => {
      const canonical = normalizeLanguageTag(tag);
      if (canonical) return canonical;
      ctx.addIssue({ code: 'custom', message: `language '${tag}' is not a BCP-47 tag such as en-US` });
      return z.NEVER;
    })
    .optional(),
});

/** Connector ids Genesys may append: a path segment. */
const CONNECTOR_ID = /^[A-Za-z0-9._~-]{1,128}$/;

const botsJson = z
  .string()
  .transform((v, ctx) => {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object {"<connector id>": {"url": "https://…", "secret": "…", "format": "webhook"|"rasa", "tts": "flite", "voice": "…", "language": "en-US"}}' });
      return z.NEVER;
    }
  })
  .pipe(z.record(z.string(), botEntry))
  .superRefine((bots, ctx) => {
    for (const id of Object.keys(bots)) {
      if (!CONNECTOR_ID.test(id)) ctx.addIssue({ code: 'custom', path: [id], message: 'connector ids are path segments (letters, digits, . _ ~ -)' });
    }
  });

export const voiceBotEnv = {
  AUDIO_CONNECTOR_PATH: z.string().trim().regex(/^\/[^\s?#]*[^\s?#/]$/, 'must start with / and not end with /').default('/audioconnector'),
  BOT_WEBHOOK_URL: httpUrl.optional(),
  BOT_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  BOT_FORMAT: z.enum(['webhook', 'rasa']).default('webhook'),
  BOTS: botsJson.optional(),
  BOT_TIMEOUT_MS: intIn(200, 60_000).default(5000),
  BOT_MAX_FAILURES: intIn(1, 20).default(2),
  BOT_FALLBACK_PROMPT: z.string().trim().min(1).max(500).default('Sorry, I am having trouble right now. Please say that again.'),
  BOT_NO_INPUT_SECONDS: z.string().trim().transform(Number).pipe(z.number().min(1).max(120)).default(7),
  BOT_TURN_EVENTS: bool.default(true),
  BOT_AUDIO_LEAD_FRAMES: intIn(1, 25).default(3),
  BOT_AUDIO_RATE_PER_SECOND: z.string().trim().transform(Number).pipe(z.number().min(5).max(100)).default(5),
  BOT_AUDIO_BURST: intIn(1, 100).default(25),
  BOT_END_MARGIN_MS: intIn(0, 10_000).default(1000),
  BARGE_IN: bool.default(true),
  BARGE_IN_SOFT_MS: intIn(20, 5000).default(200),
  BARGE_IN_CONFIRM_MS: intIn(40, 10_000).default(500),
  BARGE_IN_RESUME_MS: intIn(200, 30_000).default(2000),
  DTMF_TERMINATOR: z.string().trim().regex(/^[0-9*#]?$/, 'must be one key: 0-9, * or # (empty: none)').default('#'),
  DTMF_INTER_DIGIT_MS: intIn(200, 30_000).default(2000),
  DTMF_MAX_DIGITS: intIn(1, 64).default(16),
};

type VoiceBotEnv = z.infer<z.ZodObject<typeof voiceBotEnv>>;

export interface BargeInOptions {
  enabled: boolean;
  /** Caller speech this long stops feeding bot audio. */
  softMs: number;
  /** Caller speech this long (or a recognized word, or a digit) commits the barge-in. */
  confirmMs: number;
  /** A stop not confirmed within this long resumes the prompt (a false alarm). */
  resumeMs: number;
}

export interface VoiceBotOptions {
  path: string;
  /** BOTS by connector id. */
  bots: ReadonlyMap<string, BotEndpoint>;
  /** BOT_WEBHOOK_URL: the bot for every connector id BOTS does not name. */
  defaultBot: BotEndpoint | undefined;
  /** No bot is configured and this is not production: the built-in demo FAQ bot answers (POST /demo-bot). */
  demoBot: boolean;
  botTimeoutMs: number;
  maxBotFailures: number;
  fallbackPrompt: string;
  noInputMs: number;
  turnEvents: boolean;
  audio: { leadFrames: number; perSecond: number; burst: number };
  /** After the last prompt of an ending call, wait this long past its play-out for playback_completed. */
  endMarginMs: number;
  bargeIn: BargeInOptions;
  dtmf: { terminator: string; interDigitMs: number; maxDigits: number };
}

export function voiceBotSetup(e: VoiceBotEnv & { AUDIOHOOK_PATH: string }, production: boolean): { options: VoiceBotOptions; problems: string[] } {
  const problems: string[] = [];
  const path = e.AUDIO_CONNECTOR_PATH;
  if (path === e.AUDIOHOOK_PATH || e.AUDIOHOOK_PATH.startsWith(`${path}/`)) {
    problems.push(`AUDIO_CONNECTOR_PATH: '${path}' overlaps AUDIOHOOK_PATH '${e.AUDIOHOOK_PATH}' (transcription and voice bots need their own paths)`);
  }
  if (e.BARGE_IN_CONFIRM_MS < e.BARGE_IN_SOFT_MS) problems.push('BARGE_IN_CONFIRM_MS: must not be shorter than BARGE_IN_SOFT_MS');
  if (e.BOT_WEBHOOK_SECRET && !e.BOT_WEBHOOK_URL) problems.push('BOT_WEBHOOK_SECRET: set without BOT_WEBHOOK_URL');
  const bots = new Map<string, BotEndpoint>(Object.entries(e.BOTS ?? {}).map(([id, b]) => [id, { ...b }]));
  if (production) {
    for (const [id, b] of [['BOT_WEBHOOK_URL', e.BOT_WEBHOOK_URL] as const, ...[...bots].map(([id, b]) => [`BOTS.${id}.url`, b.url] as const)]) {
      if (b && b.startsWith('http://') && !isLocalUrl(b)) {
        problems.push(`${id}: plain http to a remote host is not allowed when NODE_ENV=production (what callers say would cross the network unencrypted)`);
      }
    }
  }
  const defaultBot: BotEndpoint | undefined = e.BOT_WEBHOOK_URL ? { url: e.BOT_WEBHOOK_URL, secret: e.BOT_WEBHOOK_SECRET, format: e.BOT_FORMAT } : undefined;
  return {
    problems,
    options: {
      path,
      bots,
      defaultBot,
      demoBot: !production && !defaultBot && bots.size === 0,
      botTimeoutMs: e.BOT_TIMEOUT_MS,
      maxBotFailures: e.BOT_MAX_FAILURES,
      fallbackPrompt: e.BOT_FALLBACK_PROMPT,
      noInputMs: e.BOT_NO_INPUT_SECONDS * 1000,
      turnEvents: e.BOT_TURN_EVENTS,
      audio: { leadFrames: e.BOT_AUDIO_LEAD_FRAMES, perSecond: e.BOT_AUDIO_RATE_PER_SECOND, burst: e.BOT_AUDIO_BURST },
      endMarginMs: e.BOT_END_MARGIN_MS,
      bargeIn: { enabled: e.BARGE_IN, softMs: e.BARGE_IN_SOFT_MS, confirmMs: e.BARGE_IN_CONFIRM_MS, resumeMs: e.BARGE_IN_RESUME_MS },
      dtmf: { terminator: e.DTMF_TERMINATOR, interDigitMs: e.DTMF_INTER_DIGIT_MS, maxDigits: e.DTMF_MAX_DIGITS },
    },
  };
}

/** The connector id of a voice-bot path (`<AUDIO_CONNECTOR_PATH>/<id>`), '' for the bare path, undefined for other paths. */
export function connectorIdOf(path: string, prefix: string): string | undefined {
  if (path === prefix) return '';
  if (!path.startsWith(`${prefix}/`)) return undefined;
  const id = path.slice(prefix.length + 1);
  // The pattern admits no '%': the id is used as it came.
  return CONNECTOR_ID.test(id) ? id : undefined;
}

/** The bot for a connector id: BOTS names it, else BOT_WEBHOOK_URL, else the demo bot when it runs; undefined = unknown connector. */
export function botFor(options: VoiceBotOptions, connectorId: string, demoBot: BotEndpoint | undefined): BotEndpoint | undefined {
  return options.bots.get(connectorId) ?? options.defaultBot ?? (options.demoBot ? demoBot : undefined);
}
