import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

const secret = Buffer.from('secret').toString('base64');

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('loadConfig', () => {
  it('has working defaults (development: authentication off)', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8080, host: '0.0.0.0', path: '/audiohook', apiKeys: null, allowedOrgIds: null, defaultVendor: 'local', supportedLanguages: ['en-US'] });
    expect(c.rateLimit).toEqual({ perSecond: 5, burst: 25, maxQueued: 500, defaultRetryAfterMs: 3000 });
    expect(c.idleTimeoutMs).toBe(60_000);
  });

  it('keeps the Python connector names: GENESYS_API_KEY, GENESYS_ORG_ID, SUPPORTED_LANGUAGES, DEFAULT_SPEECH_PROVIDER, DEBUG', () => {
    const c = loadConfig({
      GENESYS_API_KEY: 'k1',
      GENESYS_CLIENT_SECRET: secret,
      GENESYS_ORG_ID: 'D7934305-0972-4844-938e-9060eef73d05, 11111111-2222-3333-4444-555555555555',
      SUPPORTED_LANGUAGES: 'en-US,es-ES , de-DE',
      DEFAULT_SPEECH_PROVIDER: 'Simulated',
      DEBUG: 'true',
    });
    expect([...c.apiKeys!]).toEqual([['k1', secret]]);
    expect(c.allowedOrgIds).toEqual(new Set(['d7934305-0972-4844-938e-9060eef73d05', '11111111-2222-3333-4444-555555555555']));
    expect(c.supportedLanguages).toEqual(['en-US', 'es-ES', 'de-DE']);
    expect(c.defaultVendor).toBe('simulated');
    expect(c.logLevel).toBe('debug');
  });

  it('merges GENESYS_API_KEYS with GENESYS_API_KEY; "" allows unsigned', () => {
    const c = loadConfig({ GENESYS_API_KEYS: JSON.stringify({ a: secret, b: '' }), GENESYS_API_KEY: 'c' });
    expect(Object.fromEntries(c.apiKeys!)).toEqual({ a: secret, b: '', c: '' });
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', GENESYS_API_KEY: '' }).port).toBe(8080);
  });

  it('reports every problem at once, one line each', () => {
    const p = problems({ PORT: 'eighty', GENESYS_ORG_ID: 'nope', GENESYS_API_KEYS: '{bad', LOG_LEVEL: 'loud', RATE_LIMIT_PER_SECOND: '-1' });
    expect(p).toHaveLength(5);
    expect(p.join('\n')).toMatch(/PORT/);
    expect(p.join('\n')).toMatch(/GENESYS_ORG_ID/);
    expect(p.join('\n')).toMatch(/GENESYS_API_KEYS/);
  });

  it('refuses to run unauthenticated in production, and a secret without a key', () => {
    expect(problems({ NODE_ENV: 'production' })[0]).toMatch(/GENESYS_API_KEY/);
    expect(problems({ GENESYS_CLIENT_SECRET: secret })[0]).toMatch(/without GENESYS_API_KEY/);
    expect(problems({ GENESYS_API_KEY: 'k', GENESYS_CLIENT_SECRET: 'not base64!' })[0]).toMatch(/base64/);
  });
});
