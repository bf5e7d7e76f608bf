import { ConfigError, loadConfig } from '../../src/config/config.js';

/** The configuration problems `env` produces, one line each ([] when it loads). */
export function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}
