/**
 * Languages of OpenAI's transcription models. The API takes `language` as an ISO-639-1 code from
 * Whisper's list; a language outside it (Zulu, Xhosa) is refused there, but the models still
 * transcribe it when the prompt is written in that language (as the Python connector did).
 */

/** ISO-639-1 codes (Whisper's list) the API accepts as `language`. */
const ACCEPTED = [
  'af', 'am', 'ar', 'as', 'az', 'ba', 'be', 'bg', 'bn', 'bo', 'br', 'bs', 'ca', 'cs', 'cy', 'da', 'de', 'el', 'en', 'es',
  'et', 'eu', 'fa', 'fi', 'fo', 'fr', 'gl', 'gu', 'ha', 'haw', 'he', 'hi', 'hr', 'ht', 'hu', 'hy', 'id', 'is', 'it', 'ja',
  'jw', 'ka', 'kk', 'km', 'kn', 'ko', 'la', 'lb', 'ln', 'lo', 'lt', 'lv', 'mg', 'mi', 'mk', 'ml', 'mn', 'mr', 'ms', 'mt',
  'my', 'ne', 'nl', 'nn', 'no', 'oc', 'pa', 'pl', 'ps', 'pt', 'ro', 'ru', 'sa', 'sd', 'si', 'sk', 'sl', 'sn', 'so', 'sq',
  'sr', 'su', 'sv', 'sw', 'ta', 'te', 'tg', 'th', 'tk', 'tl', 'tr', 'tt', 'uk', 'ur', 'uz', 'vi', 'yi', 'yo', 'zh',
] as const;

/** BCP-47 primary subtags that Whisper spells differently (or legacy tags still sent). */
const ALIASES: Readonly<Record<string, string>> = { jv: 'jw', nb: 'no', fil: 'tl', iw: 'he', in: 'id', ji: 'yi', yue: 'zh', cmn: 'zh' };

/**
 * Call-centre prompts written in languages the API does not accept as `language`: the prompt's
 * language is what steers the model there.
 */
const NATIVE_PROMPTS: Readonly<Record<string, string>> = {
  zu: 'Le yingxoxo yocingo phakathi kwekhasimende nomsizi wenkampani, ebhalwe ngesiZulu.',
  xh: 'Le yincoko yomnxeba phakathi komthengi nomncedisi wenkampani, ebhalwe ngesiXhosa.',
};

/** The default call-centre prompt for languages the API accepts (the `language` field steers those). */
export const DEFAULT_PROMPT = 'A customer service phone call between a customer and an agent.';

/** BCP-47 primary languages this engine serves: the accepted ones and the prompt-only ones. */
export const supportedLanguages: readonly string[] = [
  ...new Set([...ACCEPTED.filter((c) => c !== 'jw'), 'jv', 'nb', 'fil', ...Object.keys(NATIVE_PROMPTS)]),
].sort();

export interface LanguagePlan {
  /** The `language` field, when the API accepts this language. */
  language?: string;
  /** Prompt written in the language itself (only for languages the API does not accept). */
  nativePrompt?: string;
}

/** `en-US` → `{ language: 'en' }`; `zu-ZA` → `{ nativePrompt: '…' }`; unknown → `{}` (auto-detect). */
export function planLanguage(tag: string): LanguagePlan {
  const primary = (tag.split(/[-_]/)[0] ?? '').toLowerCase();
  const code = ALIASES[primary] ?? primary;
  if ((ACCEPTED as readonly string[]).includes(code)) return { language: code };
  const nativePrompt = NATIVE_PROMPTS[code];
  return nativePrompt ? { nativePrompt } : {};
}
