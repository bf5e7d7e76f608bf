import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { problems } from './problems.js';

const secret = Buffer.from('secret').toString('base64');


describe('loadConfig', () => {
  it('has working defaults (development: authentication off)', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8080, host: '0.0.0.0', path: '/audiohook', apiKeys: null, allowedOrgIds: null, defaultVendor: 'local', supportedLanguages: undefined, defaultLanguage: 'en-US' });
    expect(c.translation).toEqual({ configured: false, reason: expect.stringContaining('GEMINI_API_KEY') });
    expect(c.rateLimit).toEqual({ perSecond: 5, burst: 25, maxQueued: 500, defaultRetryAfterMs: 3000 });
    expect(c.idleTimeoutMs).toBe(60_000);
  });

  it('keeps the Python connector names: GENESYS_API_KEY, GENESYS_ORG_ID, SUPPORTED_LANGUAGES, DEFAULT_SPEECH_PROVIDER, DEBUG', () => {
    const c = loadConfig({
      GENESYS_API_KEY: 'k1',
      GENESYS_CLIENT_SECRET: secret,
      GENESYS_ORG_ID: 'D7934305-0972-4844-938e-9060eef73d05, 11111111-2222-3333-4444-555555555555',
      SUPPORTED_LANGUAGES: 'en-us,es-ES , de-DE',
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

  it('normalizes SUPPORTED_LANGUAGES (case only, the tags kept) and names a tag that is not one', () => {
    const c = loadConfig({ SUPPORTED_LANGUAGES: 'cmn-hans-cn,EU-es,zu_za' });
    expect(c.supportedLanguages).toEqual(['cmn-Hans-CN', 'eu-ES', 'zu-ZA']);
    expect(c.defaultLanguage).toBe('cmn-Hans-CN');
    expect(problems({ SUPPORTED_LANGUAGES: 'en-US,english!' })).toEqual([expect.stringMatching(/^SUPPORTED_LANGUAGES.*'english!' is not a BCP-47 language tag/)]);
  });

  it('configures translation from GEMINI_API_KEY, with its defaults, and checks its settings one line each', () => {
    const c = loadConfig({ GEMINI_API_KEY: 'g-key', GEMINI_BASE_URL: 'http://127.0.0.1:9/', TRANSLATION_CONCURRENCY: '8' });
    expect(c.translation).toEqual({
      configured: true,
      options: {
        gemini: { model: 'gemini-3.1-flash-lite', apiKey: 'g-key', baseUrl: 'http://127.0.0.1:9/' },
        timeoutMs: 2000,
        concurrency: 8,
        ratePerSecond: 50,
        contextUtterances: 4,
      },
    });
    const p = problems({ GEMINI_API_KEY: 'k', GEMINI_BASE_URL: 'not a url', TRANSLATION_TIMEOUT_MS: '10', GOOGLE_TRANSLATION_MODEL: 'bad model!' });
    expect(p).toHaveLength(3);
    expect(p.join('\n')).not.toContain('"k"');
    expect(problems({ GEMINI_API_KEY: 'k', GEMINI_BASE_URL: 'http://gemini.example.com', NODE_ENV: 'production', GENESYS_API_KEY: 'a' })).toEqual([
      expect.stringMatching(/^GEMINI_BASE_URL: plain http/),
    ]);
    expect(problems({ GEMINI_API_KEY: 'k', TRANSLATION_TIMEOUT_MS: '9000' })).toEqual([
      'TRANSLATION_TIMEOUT_MS: must be shorter than CLOSE_FLUSH_TIMEOUT_MS (8000), so the last translations leave before closed',
    ]);
    expect(problems({ GOOGLE_TRANSLATION_VERTEX: 'true' })).toEqual([expect.stringMatching(/^GOOGLE_TRANSLATION_VERTEX: needs GOOGLE_APPLICATION_CREDENTIALS/)]);
    const key = JSON.stringify({ client_email: 'a@b.iam.gserviceaccount.com', private_key: '-----BEGIN PRIVATE KEY-----x', project_id: 'key-project' });
    const vertex = loadConfig({ GOOGLE_TRANSLATION_VERTEX: 'true', GOOGLE_APPLICATION_CREDENTIALS: key, GOOGLE_TRANSLATION_LOCATION: 'europe-west4' });
    expect(vertex.translation).toMatchObject({ configured: true, options: { gemini: { vertex: { project: 'key-project', location: 'europe-west4' } } } });
    expect(JSON.stringify(problems({ GOOGLE_TRANSLATION_VERTEX: 'true', GOOGLE_APPLICATION_CREDENTIALS: key, TRANSLATION_CONCURRENCY: '0' }))).not.toContain('PRIVATE KEY');
  });
});
