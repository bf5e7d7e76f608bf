/**
 * Which languages a session can serve: what the probe lists (§9 `supportedLanguages`) and
 * whether recognition can run in a session's language. Pure: decided from what the engine
 * declares, whether the session translates, and SUPPORTED_LANGUAGES.
 */
import { engineSupportsLanguage, type SpeechEngine } from '../engines/types.js';
import { GEMINI_LANGUAGES, geminiTranslatesInto } from '../translation/languages.js';

export interface ProbeLanguageInput {
  /** SUPPORTED_LANGUAGES, when set: the list is narrowed to these. */
  configured: readonly string[] | undefined;
  engine: Pick<SpeechEngine, 'languages'>;
  /**
   * The pinned source language of a translating session (`customConfig.inputLanguage`): any
   * language Gemini translates into can then be delivered. Undefined without translation.
   */
  translatedFrom: string | undefined;
  /** What to list when nothing narrows an engine that serves any language. */
  defaultLanguage: string;
}

/**
 * The probe's `supportedLanguages`: the candidates (SUPPORTED_LANGUAGES, else what the engine and
 * Gemini declare) that the session can deliver — recognized by its engine, or translated into from
 * a source its engine recognizes. An engine that recognizes none of the configured languages
 * answers with its own full tags (an English-only engine: `en-US`), never an empty list.
 */
export function probeLanguages(input: ProbeLanguageInput): string[] {
  const { engine, translatedFrom } = input;
  const serves = (l: string) => engineSupportsLanguage(engine, l) || (translatedFrom !== undefined && geminiTranslatesInto(l));
  const declared = Array.isArray(engine.languages) ? (engine.languages as readonly string[]) : [];
  let candidates = input.configured;
  if (!candidates) {
    // An engine's full tags, when it has them, stand for its primary ones (`en-US` rather than `en`).
    const full = declared.filter((l) => l.includes('-'));
    const known = new Set<string>(full.length > 0 ? full : declared);
    if (translatedFrom !== undefined) for (const l of GEMINI_LANGUAGES) known.add(l);
    candidates = known.size > 0 ? [...known] : [input.defaultLanguage];
  }
  const usable = unique(candidates.filter(serves));
  if (usable.length > 0) return usable;
  const ownTags = declared.filter((l) => l.includes('-'));
  return ownTags.length > 0 ? ownTags : [...declared];
}

function unique(list: readonly string[]): string[] {
  return [...new Set(list)];
}
