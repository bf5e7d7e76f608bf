/**
 * The engines this server can run, built from configuration. Vendor engines are imported only
 * when configured, so a deployment without them never loads their SDKs.
 */
import { pino, type Logger } from 'pino';
import type { Config } from '../config/config.js';
import { createEngineRegistry, type EngineRegistry } from './registry.js';
import { createSimulatedEngine } from './simulated/index.js';
import type { SpeechEngine } from './types.js';

export async function createConfiguredEngines(
  config: Pick<Config, 'defaultVendor' | 'simulatedEndSilenceMs' | 'engines' | 'unconfiguredEngines' | 'utterance'>,
  log: Logger = pino({ level: 'silent' }),
): Promise<EngineRegistry> {
  const engines: SpeechEngine[] = [createSimulatedEngine({ endSilenceMs: config.simulatedEndSilenceMs })];
  if (config.engines.google) {
    const { createGoogleEngine } = await import('./google/index.js');
    engines.push(createGoogleEngine(config.engines.google));
  }
  if (config.engines.openai) {
    const { createOpenAIEngine } = await import('./openai/index.js');
    engines.push(createOpenAIEngine(config.engines.openai, config.utterance));
  }
  if (config.engines.local) {
    const { createLocalEngine } = await import('./local/index.js');
    engines.push(createLocalEngine(config.engines.local, log.child({ engine: 'local' }), config.utterance));
  }
  return createEngineRegistry(engines, config.defaultVendor, config.unconfiguredEngines);
}
