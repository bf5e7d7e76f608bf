/**
 * Google Speech-to-Text v2 settings: the environment fragment (names kept from the Python
 * connector where it had one) and the engine's options built from it. Reading the credentials
 * file happens here, at start-up, so a wrong path is a configuration error, not a failed call.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { bool, hostPort, intIn, numberIn, type Setup } from '../../config/env.js';

export const GOOGLE_MODELS = ['chirp_2', 'chirp_3', 'chirp', 'telephony', 'long'] as const;
export type GoogleModel = (typeof GOOGLE_MODELS)[number];

export const googleEnv = {
  GOOGLE_CLOUD_PROJECT: z.string().trim().regex(/^[a-z][a-z0-9-]{4,61}[a-z0-9]$|^[a-z0-9.:-]+$/, 'must be a project id').optional(),
  GOOGLE_APPLICATION_CREDENTIALS: z
    .string()
    .trim()
    .transform((value, ctx) => {
      const { account, problem } = readServiceAccount(value);
      if (!account) {
        ctx.addIssue({ code: 'custom', message: problem ?? 'invalid' });
        return z.NEVER;
      }
      return account;
    })
    .optional(),
  GOOGLE_SPEECH_MODEL: z.string().trim().toLowerCase().pipe(z.enum(GOOGLE_MODELS)).default('chirp_2'),
  GOOGLE_SPEECH_LOCATION: z.string().trim().toLowerCase().regex(/^[a-z0-9-]+$/, 'must be a location such as us-central1, eu or global').default('us-central1'),
  GOOGLE_SPEECH_ENDPOINT: hostPort.optional(),
  GOOGLE_SPEECH_INSECURE: bool.default(false),
  GOOGLE_DEFAULT_CONFIDENCE: numberIn(0.01, 1).default(0.9),
  GOOGLE_STREAMS_PER_CONNECTION: intIn(1, 1000).default(100),
  // At least 64 s: a rotation replays up to 30 s of unfinalized audio, which must fit in half of
  // 95 % of the limit (the pipeline would otherwise flush the old stream mid-utterance instead).
  GOOGLE_STREAM_LIMIT_SECONDS: intIn(64, 305).default(300),
  GOOGLE_PHRASE_BOOST: numberIn(0, 20).default(10),
};

type GoogleEnv = z.infer<z.ZodObject<typeof googleEnv>>;

export interface ServiceAccount {
  client_email: string;
  private_key: string;
  project_id?: string;
}

export interface GoogleEngineOptions {
  projectId: string;
  location: string;
  model: GoogleModel;
  /** host[:port] of the Speech API. */
  endpoint: string;
  /** Plain-text gRPC without Google auth: local fakes and emulators only. */
  insecure: boolean;
  credentials?: ServiceAccount;
  /** Sent to Genesys when the model gives no confidence (chirp models report 0). */
  defaultConfidence: number;
  /** Concurrent streams per HTTP/2 connection before another connection is opened. */
  streamsPerConnection: number;
  /**
   * Google ends a stream after about 5 minutes: streams are replaced at the first pause after
   * 80 % of this, and without waiting for one at 95 %.
   */
  streamLimitMs: number;
  /** Boost of `customConfig.phrases` in the inline phrase set. */
  phraseBoost: number;
  /** A call without audio this long is ended (default 5 s; Google's own timeout is ~10 s). Tests only. */
  idleEndMs?: number;
  /** Silence sent this long ago (wall clock) needs no replay (default 3 s). Tests only. */
  settleAfterMs?: number;
}

export type GoogleSetup = Setup<GoogleEngineOptions>;

/** The regional endpoint that serves recognizers of `location` (the global one for `global`). */
export function endpointFor(location: string): string {
  return location === 'global' ? 'speech.googleapis.com' : `${location}-speech.googleapis.com`;
}

/**
 * GOOGLE_APPLICATION_CREDENTIALS is a path to a service-account key file or, as Python
 * connector users paste it into App Platform, the JSON itself.
 */
function readServiceAccount(value: string): { account?: ServiceAccount; problem?: string } {
  let text = value;
  if (!value.startsWith('{')) {
    try {
      text = readFileSync(value, 'utf8');
    } catch (err) {
      return { problem: `cannot read the key file (${(err as NodeJS.ErrnoException).code ?? 'error'}); give a path or the JSON itself` };
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { problem: 'not valid JSON (expected a service-account key)' };
  }
  const parsed = z
    .object({ client_email: z.string().min(1), private_key: z.string().includes('PRIVATE KEY'), project_id: z.string().optional() })
    .safeParse(json);
  if (!parsed.success) {
    return { problem: 'not a service-account key (needs client_email and private_key)' };
  }
  return { account: parsed.data };
}

export function googleSetup(e: GoogleEnv, production: boolean): GoogleSetup {
  const problems: string[] = [];
  const credentials = e.GOOGLE_APPLICATION_CREDENTIALS;
  if (e.GOOGLE_SPEECH_INSECURE) {
    if (production) problems.push('GOOGLE_SPEECH_INSECURE: not allowed when NODE_ENV=production (plain-text gRPC without authentication)');
    if (!e.GOOGLE_SPEECH_ENDPOINT) problems.push('GOOGLE_SPEECH_INSECURE: needs GOOGLE_SPEECH_ENDPOINT (the local fake or emulator)');
  }
  const projectId = e.GOOGLE_CLOUD_PROJECT ?? credentials?.project_id ?? (e.GOOGLE_SPEECH_INSECURE ? 'local-project' : undefined);
  if (problems.length > 0) return { configured: false, reason: problems.join('; '), problems };
  if (!credentials && !e.GOOGLE_SPEECH_INSECURE) {
    return { configured: false, reason: 'GOOGLE_APPLICATION_CREDENTIALS is not set (a service-account key file path or its JSON)', problems: [] };
  }
  if (!projectId) {
    const problem = 'GOOGLE_CLOUD_PROJECT: not set and the service-account key names no project_id';
    return { configured: false, reason: problem, problems: [problem] };
  }
  return {
    configured: true,
    options: {
      projectId,
      location: e.GOOGLE_SPEECH_LOCATION,
      model: e.GOOGLE_SPEECH_MODEL,
      endpoint: e.GOOGLE_SPEECH_ENDPOINT ?? endpointFor(e.GOOGLE_SPEECH_LOCATION),
      insecure: e.GOOGLE_SPEECH_INSECURE,
      ...(credentials ? { credentials } : {}),
      defaultConfidence: e.GOOGLE_DEFAULT_CONFIDENCE,
      streamsPerConnection: e.GOOGLE_STREAMS_PER_CONNECTION,
      streamLimitMs: e.GOOGLE_STREAM_LIMIT_SECONDS * 1000,
      phraseBoost: e.GOOGLE_PHRASE_BOOST,
    },
  };
}
