/**
 * The synthesizers this server is configured for, each behind the prompt cache, by name. Vendor
 * SDKs load only when their synthesizer is configured and first used.
 */
import type { Logger } from 'pino';
import { withCache, type CacheStats, type CachedSynthesizer } from './cache.js';
import { createFliteSynthesizer } from './flite/index.js';
import { createGoogleSynthesizer } from './google/index.js';
import { createOpenAISynthesizer } from './openai/index.js';
import type { SynthesisOptions } from './options.js';
import type { SpeechSynthesizer, SynthesizerRegistry } from './types.js';

export interface SynthesisRegistry extends SynthesizerRegistry {
  /** Cache counters per synthesizer, for metrics. */
  stats(): Record<string, CacheStats>;
}

export async function createSynthesizers(options: SynthesisOptions, log: Logger): Promise<SynthesisRegistry> {
  const made: SpeechSynthesizer[] = [];
  if (options.flite) made.push(createFliteSynthesizer(options.flite));
  if (options.google) made.push(createGoogleSynthesizer(options.google));
  if (options.openai) made.push(createOpenAISynthesizer(options.openai));
  // The cache budget is per synthesizer: a busy vendor must not evict another's greetings.
  const byName = new Map<string, CachedSynthesizer>(made.map((s) => [s.name, withCache(s, { maxBytes: options.cacheBytes })]));
  const unconfigured: Record<string, string> = { ...options.unconfigured };
  const available = [...byName.keys()];

  if (!byName.has(options.defaultName)) {
    log.warn({ tts: options.defaultName, reason: unconfigured[options.defaultName] }, 'speech synthesis: the default synthesizer is not available');
  }
  log.info({ available, default: options.defaultName, cacheMb: Math.round(options.cacheBytes / 1048576) }, 'speech synthesis ready');
  for (const [name, reason] of Object.entries(unconfigured)) log.debug({ tts: name, reason }, 'speech synthesis: synthesizer not configured');

  return {
    available,
    defaultName: options.defaultName,
    resolve(name) {
      const wanted = (name ?? options.defaultName).trim().toLowerCase();
      const synthesizer = byName.get(wanted);
      if (synthesizer) return { ok: true, synthesizer };
      const why = unconfigured[wanted];
      if (why) return { ok: false, reason: `speech synthesizer '${wanted}' is not available: ${why}` };
      return { ok: false, reason: `unknown speech synthesizer '${wanted}' (flite, google, openai)` };
    },
    stats() {
      return Object.fromEntries([...byName].map(([name, s]) => [name, s.stats()]));
    },
    async close() {
      await Promise.all([...byName.values()].map((s) => s.close?.().catch(() => undefined)));
    },
  };
}
