/**
 * Languages Gemini translates into (primary subtags), from Google's list of languages the Gemini
 * models support. A translation target outside it is not offered to Genesys.
 */
import { primaryLanguage } from '../protocol/language.js';

export const GEMINI_LANGUAGES: readonly string[] = [
  'af', 'am', 'ar', 'as', 'az', 'be', 'bg', 'bn', 'bs', 'ca', 'cs', 'cy', 'da', 'de', 'el', 'en', 'es', 'et', 'eu', 'fa',
  'fi', 'fil', 'fr', 'ga', 'gl', 'gu', 'ha', 'he', 'hi', 'hr', 'hu', 'hy', 'id', 'ig', 'is', 'it', 'ja', 'jv', 'ka', 'kk',
  'km', 'kn', 'ko', 'ky', 'lo', 'lt', 'lv', 'mk', 'ml', 'mn', 'mr', 'ms', 'mt', 'my', 'ne', 'nl', 'no', 'or', 'pa', 'pl',
  'ps', 'pt', 'ro', 'ru', 'rw', 'si', 'sk', 'sl', 'so', 'sq', 'sr', 'st', 'sv', 'sw', 'ta', 'te', 'tg', 'th', 'tk', 'tr',
  'uk', 'ur', 'uz', 'vi', 'xh', 'yo', 'zh', 'zu',
];

export function geminiTranslatesInto(language: string): boolean {
  return GEMINI_LANGUAGES.includes(primaryLanguage(language));
}
