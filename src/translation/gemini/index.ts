/**
 * Gemini as a Translator, through the maintained SDK (`@google/genai`), imported only when
 * translation is configured. Gemini API (key, optional base URL) or Vertex AI (project, location,
 * service account), the SDK's own switch. One attempt per call: the per-attempt bound is the
 * caller's signal, and retries (which must honour the service's hint inside the deadline) are
 * the vendor-neutral service's job, so the SDK's exponential retry stays off.
 */
import type { GenerateContentConfig, GoogleGenAI } from '@google/genai';
import type { GeminiOptions } from '../options.js';
import { TranslationError, type Translator } from '../types.js';
import { RESPONSE_SCHEMA, SYSTEM_INSTRUCTION, readTranslation, userMessage } from './prompt.js';

/** @param timeoutMs the SDK's own per-request timeout: a backstop behind the caller's deadline signal */
export async function createGeminiTranslator(options: GeminiOptions, timeoutMs: number): Promise<Translator> {
  const { GoogleGenAI: Client, ThinkingLevel } = await import('@google/genai');
  const httpOptions = { timeout: timeoutMs, ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}) };
  const client: GoogleGenAI = options.vertex
    ? new Client({
        vertexai: true,
        project: options.vertex.project,
        location: options.vertex.location,
        googleAuthOptions: {
          credentials: { client_email: options.vertex.credentials.client_email, private_key: options.vertex.credentials.private_key },
          scopes: ['https://www.googleapis.com/auth/cloud-platform'],
        },
        httpOptions,
      })
    : new Client({ apiKey: options.apiKey ?? '', httpOptions });

  // Gemini 2.x models turn thinking off with a zero budget; later ones take a level.
  const thinkingConfig = /^gemini-2\./.test(options.model) ? { thinkingBudget: 0 } : { thinkingLevel: ThinkingLevel.MINIMAL };

  return {
    name: `gemini:${options.model}`,
    async translate(text, { source, target, context, glossary, signal }) {
      const config: GenerateContentConfig = {
        systemInstruction: SYSTEM_INSTRUCTION,
        responseMimeType: 'application/json',
        responseJsonSchema: RESPONSE_SCHEMA,
        thinkingConfig,
        temperature: 0,
        candidateCount: 1,
        abortSignal: signal,
      };
      let response;
      try {
        response = await client.models.generateContent({
          model: options.model,
          contents: [{ role: 'user', parts: [{ text: userMessage({ text, source, target, context, glossary }) }] }],
          config,
        });
      } catch (err) {
        throw toTranslationError(err);
      }
      const parts = response.candidates?.[0]?.content?.parts ?? [];
      const answer = parts.filter((p) => typeof p.text === 'string' && !p.thought).map((p) => p.text).join('');
      const translation = readTranslation(answer);
      if (translation === undefined) {
        const reason = response.candidates?.[0]?.finishReason ?? response.promptFeedback?.blockReason ?? 'no JSON translation';
        throw new TranslationError(`Gemini gave no translation (${String(reason)})`, false);
      }
      return translation;
    },
  };
}

/** Statuses worth another attempt: quota/rate (429), and the service being unwell. */
const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);

/**
 * The SDK's ApiError carries the HTTP status and the error body as its message; Google's
 * `RetryInfo` detail in that body is the service's retry hint.
 */
export function toTranslationError(err: unknown): TranslationError {
  const status = typeof (err as { status?: unknown })?.status === 'number' ? (err as { status: number }).status : undefined;
  const message = err instanceof Error ? err.message : String(err);
  if (status === undefined) {
    // Network trouble or an abort: the service decides nothing; retry if there is time.
    const aborted = (err as { name?: string })?.name === 'AbortError';
    return new TranslationError(aborted ? 'Gemini request aborted' : `Gemini request failed: ${message.slice(0, 120)}`, !aborted, undefined, { cause: err });
  }
  const body = parseErrorBody(message);
  const what = body?.status ? `${status} ${body.status}` : String(status);
  return new TranslationError(`Gemini answered ${what}`, RETRYABLE.has(status), body?.retryAfterMs, { cause: err });
}

function parseErrorBody(message: string): { status?: string; retryAfterMs?: number } | undefined {
  try {
    const parsed = JSON.parse(message) as { error?: { status?: string; details?: Array<Record<string, unknown>> } };
    const retryInfo = parsed.error?.details?.find((d) => String(d['@type'] ?? '').endsWith('google.rpc.RetryInfo'));
    const delay = typeof retryInfo?.['retryDelay'] === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(retryInfo['retryDelay']) : null;
    return {
      ...(parsed.error?.status ? { status: parsed.error.status } : {}),
      ...(delay ? { retryAfterMs: Math.round(Number(delay[1]) * 1000) } : {}),
    };
  } catch {
    return undefined;
  }
}
