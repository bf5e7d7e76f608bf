/**
 * Synthesis settings from the environment, and the registry built from them (each synthesizer
 * behind the cache, the unconfigured ones refused with why).
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { googleEnv } from '../../src/engines/google/options.js';
import { openaiEnv } from '../../src/engines/openai/options.js';
import { FLITE_NOT_INSTALLED } from '../../src/synthesis/flite/index.js';
import { synthesisEnv, synthesisSetup } from '../../src/synthesis/options.js';
import { createSynthesizers } from '../../src/synthesis/registry.js';
import { collect, noFlite, request } from './helpers.js';

const schema = z.object({ ...googleEnv, ...openaiEnv, ...synthesisEnv });
const setup = (env: Record<string, string>, production = false, path?: string) => synthesisSetup(schema.parse(env), production, path);
const silent = pino({ level: 'silent' });

describe('synthesis settings', () => {
  it('defaults: flite with kal, 32 MiB cache; vendors unconfigured with why', () => {
    const { options, problems } = setup({});
    expect(problems).toEqual([]);
    expect(options.defaultName).toBe('flite');
    expect(options.cacheBytes).toBe(32 * 1024 * 1024);
    if (!noFlite) expect(options.flite).toMatchObject({ voice: 'kal' });
    expect(options.unconfigured.google).toMatch(/GOOGLE_APPLICATION_CREDENTIALS/);
    expect(options.unconfigured.openai).toMatch(/OPENAI_API_KEY/);
  });

  it('flite missing is no problem (the server starts), only a reason; a wrong FLITE_BINARY is', () => {
    const missing = setup({}, false, '/nonexistent');
    expect(missing.problems).toEqual([]);
    expect(missing.options.unconfigured.flite).toBe(FLITE_NOT_INSTALLED);
    expect(setup({ FLITE_BINARY: '/nope/flite' }).problems).toEqual(['FLITE_BINARY: /nope/flite is not an executable file']);
  });

  it('TTS_VOICE is the default provider’s voice, checked for flite; TTS_CACHE_MB=0 is off', () => {
    expect(setup({ TTS_VOICE: 'bogus' }).problems[0]).toMatch(/TTS_VOICE: flite has no voice 'bogus'/);
    expect(setup({ TTS_CACHE_MB: '0' }).options.cacheBytes).toBe(0);
    const o = setup({ TTS_PROVIDER: 'openai', TTS_VOICE: 'coral', OPENAI_API_KEY: 'k' }).options;
    expect(o.openai).toMatchObject({ apiKey: 'k', voice: 'coral', model: 'gpt-4o-mini-tts', timeoutMs: 15_000, maxRetries: 2 });
    if (!noFlite) expect(o.flite?.voice).toBe('kal');
  });

  it('OpenAI reuses the transcription settings; Google its credentials, with its own endpoint', () => {
    const o = setup({ OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', OPENAI_TTS_MODEL: 'tts-1', OPENAI_TTS_VOICE: 'nova', OPENAI_TIMEOUT_MS: '2000' }).options;
    expect(o.openai).toEqual({ apiKey: 'none', baseURL: 'http://127.0.0.1:9/v1', model: 'tts-1', voice: 'nova', timeoutMs: 2000, maxRetries: 2 });
    const g = setup({ GOOGLE_TTS_INSECURE: 'true', GOOGLE_TTS_ENDPOINT: '127.0.0.1:5555', GOOGLE_CLOUD_PROJECT: 'acme-project' }).options;
    expect(g.google).toEqual({ endpoint: '127.0.0.1:5555', insecure: true, projectId: 'acme-project', timeoutMs: 10_000 });
  });

  it('problems: the chosen provider unconfigured, insecure Google without endpoint or in production', () => {
    expect(setup({ TTS_PROVIDER: 'google' }).problems).toEqual([expect.stringMatching(/^TTS_PROVIDER: 'google' is not configured: GOOGLE_APPLICATION_CREDENTIALS/)]);
    expect(setup({ GOOGLE_TTS_INSECURE: 'true' }).problems).toEqual([expect.stringMatching(/needs GOOGLE_TTS_ENDPOINT/)]);
    expect(setup({ GOOGLE_TTS_INSECURE: 'true', GOOGLE_TTS_ENDPOINT: 'x:1' }, true).problems).toEqual([expect.stringMatching(/NODE_ENV=production/)]);
    expect(() => setup({ TTS_PROVIDER: 'polly' })).toThrow();
  });
});

describe('synthesizer registry', () => {
  it('resolves the configured ones (default when unnamed), refuses the others with why', async () => {
    const registry = await createSynthesizers(setup({ OPENAI_API_KEY: 'k' }).options, silent);
    try {
      expect(registry.available).toEqual(noFlite ? ['openai'] : ['flite', 'openai']);
      expect(registry.defaultName).toBe('flite');
      expect(registry.resolve('OpenAI')).toMatchObject({ ok: true, synthesizer: { name: 'openai' } });
      expect(registry.resolve('google')).toEqual({ ok: false, reason: expect.stringMatching(/'google' is not available: GOOGLE_APPLICATION_CREDENTIALS/) });
      expect(registry.resolve('polly')).toEqual({ ok: false, reason: expect.stringMatching(/unknown speech synthesizer 'polly'/) });
      if (noFlite) return;
      const flite = registry.resolve(undefined);
      if (!flite.ok) throw new Error(flite.reason);
      await collect(flite.synthesizer, request('Hello.'));
      await collect(flite.synthesizer, request('Hello.'));
      expect(registry.stats()['flite']).toMatchObject({ hits: 1, misses: 1, entries: 1 });
    } finally {
      await registry.close();
    }
  });
});
