/**
 * Maps `customConfig.transcriptionVendor` (or DEFAULT_SPEECH_PROVIDER) to an engine.
 * Resolution happens when `open` arrives — probes included — so a misconfigured integration
 * fails when it is activated, not on the first real call.
 */
import type { SpeechEngine } from './types.js';

export type EngineResolution = { ok: true; engine: SpeechEngine } | { ok: false; reason: string };

export interface EngineRegistry {
  /** Names of the engines this server can run, for logs and error messages. */
  readonly available: readonly string[];
  /** The configured engines themselves (start-up warnings, shutdown). */
  readonly engines: readonly SpeechEngine[];
  resolve(vendor: unknown): EngineResolution;
  /** Releases every engine's process-wide resources. */
  close(): Promise<void>;
}

/**
 * @param engines engines configured on this server, by lower-case name
 * @param known   vendor names the product knows but this server has not configured (with why)
 */
export function createEngineRegistry(
  engines: readonly SpeechEngine[],
  defaultVendor: string,
  known: Readonly<Record<string, string>> = {},
): EngineRegistry {
  const byName = new Map(engines.map((e) => [e.name.toLowerCase(), e]));
  const available = [...byName.keys()];
  return {
    available,
    engines,
    async close() {
      await Promise.all(engines.map((e) => e.close?.().catch(() => {})));
    },
    resolve(vendor) {
      if (vendor !== undefined && vendor !== null && typeof vendor !== 'string') {
        return { ok: false, reason: 'transcriptionVendor must be a string' };
      }
      const name = (vendor?.trim() || defaultVendor).toLowerCase();
      const engine = byName.get(name);
      if (engine) return { ok: true, engine };
      const why = known[name];
      if (why) return { ok: false, reason: `transcriptionVendor '${name}' is not configured: ${why}` };
      return { ok: false, reason: `unknown transcriptionVendor '${name}' (available: ${available.join(', ')})` };
    },
  };
}
