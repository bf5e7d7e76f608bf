/**
 * The translation service this server runs, built from configuration. The Gemini SDK is imported
 * only when translation is configured, so a server without it never loads the SDK.
 */
import type { Config } from '../config/config.js';
import { createTranslationService, type TranslationService } from './service.js';

export async function createConfiguredTranslation(config: Pick<Config, 'translation'>): Promise<TranslationService | undefined> {
  if (!config.translation.configured) return undefined;
  const { options } = config.translation;
  const { createGeminiTranslator } = await import('./gemini/index.js');
  const translator = await createGeminiTranslator(options.gemini, options.timeoutMs);
  return createTranslationService(translator, options);
}
