/**
 * What the model is asked, and how its answer is read. The utterance travels as a JSON value, not
 * spliced into instructions, so a caller's words are data the model translates, never orders it
 * follows; the answer is constrained to `{"translation": "…"}` so nothing else reaches Genesys.
 */
import type { ContextUtterance } from '../types.js';

export const SYSTEM_INSTRUCTION = [
  'You translate live call-centre transcripts (speech recognition output, unpunctuated or imperfect).',
  'The user message is a JSON object: "text" is the utterance to translate from "source" into "target" (BCP-47 tags).',
  '"context", when present, holds the previous utterances of the same call, oldest first, with their speaker (customer or agent):',
  'use it only to keep pronouns, names, terms and register consistent; never translate or repeat it.',
  '"glossary", when present, maps terms to the translation you must use for them.',
  'Translate faithfully and completely: keep numbers, names and the speaker\'s register; add, omit, explain or answer nothing.',
  'Reply with a JSON object whose only field "translation" is the translated text.',
].join(' ');

/** `responseJsonSchema`: one string field, required. */
export const RESPONSE_SCHEMA = {
  type: 'object',
  properties: { translation: { type: 'string', description: 'The text translated into the target language.' } },
  required: ['translation'],
  additionalProperties: false,
} as const;

export interface PromptInput {
  text: string;
  source: string;
  target: string;
  context: readonly ContextUtterance[];
  glossary: Readonly<Record<string, string>>;
}

/** The user message: the request as one JSON object (empty context and glossary left out). */
export function userMessage(input: PromptInput): string {
  return JSON.stringify({
    source: input.source,
    target: input.target,
    ...(input.context.length > 0 ? { context: input.context } : {}),
    ...(Object.keys(input.glossary).length > 0 ? { glossary: input.glossary } : {}),
    text: input.text,
  });
}

/** The `translation` of the model's JSON answer, or undefined when the answer is not that. */
export function readTranslation(answer: string | undefined): string | undefined {
  if (!answer) return undefined;
  try {
    const parsed = JSON.parse(answer) as unknown;
    if (parsed && typeof parsed === 'object' && typeof (parsed as { translation?: unknown }).translation === 'string') {
      const text = (parsed as { translation: string }).translation.trim().replace(/\s+/g, ' ');
      return text === '' ? undefined : text;
    }
  } catch {
    // not JSON: structured output was not honoured
  }
  return undefined;
}
