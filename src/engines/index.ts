/** The engines this server can run, built from configuration. */
import type { Config } from '../config/config.js';
import { createEngineRegistry, type EngineRegistry } from './registry.js';
import { createSimulatedEngine } from './simulated/index.js';

export function createConfiguredEngines(config: Pick<Config, 'defaultVendor'>): EngineRegistry {
  return createEngineRegistry([createSimulatedEngine()], config.defaultVendor);
}
