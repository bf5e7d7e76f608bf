/**
 * OpenAI (and OpenAI-compatible server) transcription settings: the environment fragment and the
 * engine's options built from it. The utterance buffer's own settings come from kit/options.ts.
 */
import { z } from 'zod';
import { bool, csv, intIn, isLocalUrl, type Setup } from '../../config/env.js';
import { DEFAULT_ARTIFACTS } from './map.js';

export const openaiEnv = {
  OPENAI_API_KEY: z.string().trim().optional(),
  /** Any string: compatible servers (faster-whisper, vLLM, speaches…) name their own models. */
  OPENAI_SPEECH_MODEL: z.string().trim().min(1).default('gpt-4o-mini-transcribe'),
  OPENAI_BASE_URL: z.string().trim().pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://api.openai.com/v1' })).optional(),
  OPENAI_TIMEOUT_MS: intIn(500, 300_000).default(15_000),
  OPENAI_MAX_RETRIES: intIn(0, 10).default(2),
  OPENAI_DEADLINE_MS: intIn(1000, 600_000).default(30_000),
  OPENAI_CONCURRENCY: intIn(1, 10_000).default(128),
  OPENAI_PROMPT: z.string().trim().max(800).optional(),
  OPENAI_PROMPT_PREVIOUS: bool.default(true),
  /** Comma-separated; `none` turns the filter off. */
  OPENAI_ARTIFACTS: csv.optional(),
};

type OpenAIEnv = z.infer<z.ZodObject<typeof openaiEnv>>;

export interface OpenAIEngineOptions {
  apiKey: string;
  model: string;
  /** Unset: OpenAI's own API. */
  baseURL?: string;
  /** One attempt's wait for the answer to start, ms. */
  timeoutMs: number;
  /** Retries of 408/409/429/5xx and connection failures, with backoff (the SDK's). */
  maxRetries: number;
  /** An utterance's whole budget, retries and streaming included; past it the utterance is counted as failed. */
  deadlineMs: number;
  /** Recognitions in flight per process. */
  concurrency: number;
  /** Call-centre prompt for English audio (other languages: see languages.ts). */
  prompt?: string;
  /** Whether the channel's previous utterance is sent as context. */
  promptPrevious: boolean;
  /** Whole words removed at the start and end of an utterance. */
  artifacts: readonly string[];
}

export type OpenAISetup = Setup<OpenAIEngineOptions>;

/**
 * A compatible server on the local network may need no key; OpenAI's API always does. A base URL
 * without a key is taken as such a server, with a placeholder key (the SDK insists on one).
 */
export function openaiSetup(e: OpenAIEnv, production: boolean): OpenAISetup {
  const problems: string[] = [];
  if (e.OPENAI_BASE_URL && production && e.OPENAI_BASE_URL.startsWith('http://') && !isLocalUrl(e.OPENAI_BASE_URL)) {
    problems.push('OPENAI_BASE_URL: plain http to a remote host is not allowed when NODE_ENV=production (call audio would cross the network unencrypted)');
  }
  if (problems.length > 0) return { configured: false, reason: problems.join('; '), problems };
  if (!e.OPENAI_API_KEY && !e.OPENAI_BASE_URL) {
    return { configured: false, reason: 'OPENAI_API_KEY is not set (or OPENAI_BASE_URL for an OpenAI-compatible server)', problems: [] };
  }
  const artifacts = e.OPENAI_ARTIFACTS ?? DEFAULT_ARTIFACTS;
  return {
    configured: true,
    options: {
      apiKey: e.OPENAI_API_KEY ?? 'none',
      model: e.OPENAI_SPEECH_MODEL,
      ...(e.OPENAI_BASE_URL ? { baseURL: e.OPENAI_BASE_URL.replace(/\/+$/, '') } : {}),
      timeoutMs: e.OPENAI_TIMEOUT_MS,
      maxRetries: e.OPENAI_MAX_RETRIES,
      deadlineMs: Math.max(e.OPENAI_DEADLINE_MS, e.OPENAI_TIMEOUT_MS),
      concurrency: e.OPENAI_CONCURRENCY,
      ...(e.OPENAI_PROMPT ? { prompt: e.OPENAI_PROMPT } : {}),
      promptPrevious: e.OPENAI_PROMPT_PREVIOUS,
      artifacts: artifacts.length === 1 && artifacts[0]?.toLowerCase() === 'none' ? [] : artifacts,
    },
  };
}
