/**
 * Translation settings: the environment fragment and the options built from it. Translation is
 * configured by a Gemini API key, a Gemini endpoint of your own (a proxy, the tests' fake), or
 * Vertex AI in a Google Cloud project.
 */
import { z } from 'zod';
import { bool, intIn, positiveNumber, type Setup } from '../config/env.js';
import type { ServiceAccount } from '../engines/google/options.js';

/** Low latency, cheap, and good enough at sentence translation; thinking is kept minimal. */
export const DEFAULT_TRANSLATION_MODEL = 'gemini-3.1-flash-lite';

export const translationEnv = {
  GEMINI_API_KEY: z.string().trim().optional(),
  GEMINI_BASE_URL: z.string().trim().url('must be a URL such as https://proxy.internal/gemini').optional(),
  GOOGLE_TRANSLATION_MODEL: z.string().trim().regex(/^[A-Za-z0-9._\-/]+$/, 'must be a model name such as gemini-3.1-flash-lite').default(DEFAULT_TRANSLATION_MODEL),
  GOOGLE_TRANSLATION_VERTEX: bool.default(false),
  GOOGLE_TRANSLATION_LOCATION: z.string().trim().toLowerCase().regex(/^[a-z0-9-]+$/, 'must be a location such as global or europe-west4').default('global'),
  TRANSLATION_TIMEOUT_MS: intIn(200, 30_000).default(2000),
  TRANSLATION_CONCURRENCY: intIn(1, 1000).default(32),
  TRANSLATION_RATE_PER_SECOND: positiveNumber.default(50),
  TRANSLATION_CONTEXT_UTTERANCES: intIn(0, 20).default(4),
};

type TranslationEnv = z.infer<z.ZodObject<typeof translationEnv>>;

export interface GeminiOptions {
  model: string;
  apiKey?: string;
  baseUrl?: string;
  /** Vertex AI instead of the Gemini API: project, location and the service account. */
  vertex?: { project: string; location: string; credentials: ServiceAccount };
}

export interface TranslationOptions {
  gemini: GeminiOptions;
  /** A final's whole budget, from its recognition to its translation (queueing and retries included). */
  timeoutMs: number;
  /** Requests in flight per process (Gemini quotas are per project). */
  concurrency: number;
  /** Requests started per second per process. */
  ratePerSecond: number;
  /** Earlier utterances of the call given to the model as context. */
  contextUtterances: number;
}

export type TranslationSetup = Setup<TranslationOptions>;

/**
 * @param google the project and credentials of the Google engine's settings, shared with Vertex
 */
export function translationSetup(
  e: TranslationEnv,
  production: boolean,
  google: { project?: string | undefined; credentials?: ServiceAccount | undefined },
): TranslationSetup {
  const problems: string[] = [];
  if (e.GEMINI_BASE_URL && production && new URL(e.GEMINI_BASE_URL).protocol === 'http:' && !isLoopback(e.GEMINI_BASE_URL)) {
    problems.push('GEMINI_BASE_URL: plain http to a remote host is not allowed when NODE_ENV=production');
  }
  let vertex: GeminiOptions['vertex'];
  if (e.GOOGLE_TRANSLATION_VERTEX) {
    // A key, always: the auth library is never left to probe the GCE metadata server.
    const project = google.project ?? google.credentials?.project_id;
    if (!google.credentials) problems.push('GOOGLE_TRANSLATION_VERTEX: needs GOOGLE_APPLICATION_CREDENTIALS (a service-account key with roles/aiplatform.user)');
    else if (!project) problems.push('GOOGLE_TRANSLATION_VERTEX: needs GOOGLE_CLOUD_PROJECT or a service-account key with project_id');
    else vertex = { project, location: e.GOOGLE_TRANSLATION_LOCATION, credentials: google.credentials };
  }
  if (problems.length > 0) return { configured: false, reason: problems.join('; '), problems };
  if (!vertex && !e.GEMINI_API_KEY) {
    return { configured: false, reason: 'GEMINI_API_KEY is not set (or GOOGLE_TRANSLATION_VERTEX=true)', problems: [] };
  }
  return {
    configured: true,
    options: {
      gemini: {
        model: e.GOOGLE_TRANSLATION_MODEL,
        ...(e.GEMINI_API_KEY && !vertex ? { apiKey: e.GEMINI_API_KEY } : {}),
        ...(e.GEMINI_BASE_URL ? { baseUrl: e.GEMINI_BASE_URL } : {}),
        ...(vertex ? { vertex } : {}),
      },
      timeoutMs: e.TRANSLATION_TIMEOUT_MS,
      concurrency: e.TRANSLATION_CONCURRENCY,
      ratePerSecond: e.TRANSLATION_RATE_PER_SECOND,
      contextUtterances: e.TRANSLATION_CONTEXT_UTTERANCES,
    },
  };
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}
