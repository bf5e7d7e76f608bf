/** Voice-bot settings: one line per problem, as the rest of the configuration. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { botFor, connectorIdOf } from '../../src/voicebot/options.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe('voice-bot settings', () => {
  it('defaults: /audioconnector, the demo bot in development, none in production', () => {
    const dev = loadConfig({});
    expect(dev.voiceBot.path).toBe('/audioconnector');
    expect(dev.voiceBot.demoBot).toBe(true);
    const prod = loadConfig({ NODE_ENV: 'production', GENESYS_API_KEY: 'k', DEFAULT_SPEECH_PROVIDER: 'simulated' });
    expect(prod.voiceBot.demoBot).toBe(false);
    expect(botFor(prod.voiceBot, 'sales', { url: 'http://127.0.0.1/demo-bot', format: 'webhook' })).toBeUndefined();
  });

  it('reads BOTS by connector id, with BOT_WEBHOOK_URL for the others', () => {
    const c = loadConfig({
      BOT_WEBHOOK_URL: 'https://bots.example.com/all',
      BOT_WEBHOOK_SECRET: 'sixteen-chars-min!',
      BOTS: JSON.stringify({ sales: { url: 'http://rasa:5005/webhooks/rest/webhook', format: 'rasa', tts: 'Google', language: 'es-es' } }),
    });
    expect(botFor(c.voiceBot, 'sales', undefined)).toEqual({ url: 'http://rasa:5005/webhooks/rest/webhook', format: 'rasa', tts: 'google', language: 'es-ES' });
    expect(botFor(c.voiceBot, 'other', undefined)).toEqual({ url: 'https://bots.example.com/all', secret: 'sixteen-chars-min!', format: 'webhook' });
    expect(c.voiceBot.demoBot).toBe(false);
  });

  it('says what is wrong, one line each', () => {
    expect(
      problems({
        AUDIO_CONNECTOR_PATH: '/audiohook',
        BOTS: '{"sales": {"url": "ftp://x"}, "bad id!": {"url": "https://x"}}',
        BOT_WEBHOOK_SECRET: 'short',
        BARGE_IN_SOFT_MS: '600',
        DTMF_TERMINATOR: '##',
      }),
    ).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^BOTS\.sales\.url: /),
        expect.stringMatching(/^BOTS\.bad id!: connector ids are path segments/),
        expect.stringMatching(/^BOT_WEBHOOK_SECRET: must be at least 16 characters/),
        expect.stringMatching(/^DTMF_TERMINATOR: /),
      ]),
    );
    expect(problems({ AUDIO_CONNECTOR_PATH: '/audiohook' })).toEqual([expect.stringMatching(/^AUDIO_CONNECTOR_PATH: '\/audiohook' overlaps AUDIOHOOK_PATH/)]);
    expect(problems({ BARGE_IN_SOFT_MS: '600' })).toEqual(['BARGE_IN_CONFIRM_MS: must not be shorter than BARGE_IN_SOFT_MS']);
    expect(problems({ BOTS: '{"a": {"url": "https://x", "language": "english please"}}' })).toEqual([expect.stringMatching(/is not a BCP-47 tag/)]);
    expect(problems({ NODE_ENV: 'production', GENESYS_API_KEY: 'k', DEFAULT_SPEECH_PROVIDER: 'simulated', BOT_WEBHOOK_URL: 'http://bots.example.com/x' })).toEqual([
      expect.stringMatching(/^BOT_WEBHOOK_URL: plain http to a remote host is not allowed/),
    ]);
  });

  it('takes the connector id from the path', () => {
    expect(connectorIdOf('/audioconnector/sales', '/audioconnector')).toBe('sales');
    expect(connectorIdOf('/audioconnector', '/audioconnector')).toBe('');
    expect(connectorIdOf('/audioconnector/a/b', '/audioconnector')).toBeUndefined();
    expect(connectorIdOf('/audioconnectorx', '/audioconnector')).toBeUndefined();
    expect(connectorIdOf('/audiohook', '/audioconnector')).toBeUndefined();
  });
});
