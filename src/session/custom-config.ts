/**
 * The translation and language keys of `customConfig` (and `open.language`), checked at `open`,
 * probes included: a misconfigured integration fails when it is activated, with one clear line.
 * Each parser returns the value, or the problem as `{ problem }`.
 */
import { normalizeLanguageTag } from '../protocol/language.js';

export type Parsed<T> = T | { problem: string };

export function isProblem<T>(v: Parsed<T>): v is { problem: string } {
  return typeof v === 'object' && v !== null && 'problem' in v;
}

/** A BCP-47 tag in canonical case; `what` names the field in the problem. */
export function parseLanguage(value: unknown, what: string): Parsed<string | undefined> {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') return { problem: `${what} must be a BCP-47 language tag such as en-US` };
  const tag = normalizeLanguageTag(value);
  if (!tag) return { problem: `${what} '${value.slice(0, 40)}' is not a BCP-47 language tag (e.g. en-US, eu-ES, cmn-Hans-CN)` };
  return tag;
}

/** `customConfig.enableTranslation`: a boolean, or the strings "true"/"false" (Genesys UI forms). */
export function parseEnableTranslation(value: unknown): Parsed<boolean> {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  return { problem: 'customConfig.enableTranslation must be true or false' };
}

/** Bounds of `customConfig.glossary`: every entry is sent whenever its term occurs. */
export const MAX_GLOSSARY_ENTRIES = 200;
export const MAX_GLOSSARY_TERM = 100;
export const MAX_GLOSSARY_TRANSLATION = 200;

/** `customConfig.glossary`: `{"term": "translation"}`, non-empty strings, bounded. */
export function parseGlossary(value: unknown): Parsed<Readonly<Record<string, string>> | undefined> {
  if (value === undefined || value === null) return undefined;
  const shape = 'customConfig.glossary must be an object {"term": "translation"}';
  if (typeof value !== 'object' || Array.isArray(value)) return { problem: shape };
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_GLOSSARY_ENTRIES) return { problem: `customConfig.glossary: at most ${MAX_GLOSSARY_ENTRIES} terms` };
  const glossary: Record<string, string> = {};
  for (const [rawTerm, rawTranslation] of entries) {
    if (typeof rawTranslation !== 'string') return { problem: shape };
    const term = rawTerm.trim().replace(/\s+/g, ' ');
    const translation = rawTranslation.trim().replace(/\s+/g, ' ');
    if (term === '' || translation === '') return { problem: 'customConfig.glossary: terms and translations must not be empty' };
    if (term.length > MAX_GLOSSARY_TERM) return { problem: `customConfig.glossary: each term at most ${MAX_GLOSSARY_TERM} characters` };
    if (translation.length > MAX_GLOSSARY_TRANSLATION) {
      return { problem: `customConfig.glossary: each translation at most ${MAX_GLOSSARY_TRANSLATION} characters` };
    }
    glossary[term] = translation;
  }
  return entries.length > 0 ? glossary : undefined;
}
