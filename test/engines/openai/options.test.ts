import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { openaiEnv, openaiSetup } from '../../../src/engines/openai/options.js';
import { DEFAULT_ARTIFACTS } from '../../../src/engines/openai/map.js';
import { planLanguage, supportedLanguages } from '../../../src/engines/openai/languages.js';

const parse = (env: Record<string, string>) => z.object(openaiEnv).parse(env);

describe('OpenAI settings', () => {
  it('defaults: gpt-4o-mini-transcribe, OpenAI API, artifacts filter on', () => {
    const setup = openaiSetup(parse({ OPENAI_API_KEY: 'sk-test' }), true);
    expect(setup).toEqual({
      configured: true,
      options: {
        apiKey: 'sk-test', model: 'gpt-4o-mini-transcribe', timeoutMs: 15000, maxRetries: 2, deadlineMs: 30000,
        concurrency: 128, promptPrevious: true, artifacts: DEFAULT_ARTIFACTS,
      },
    });
  });

  it('not configured without a key or a base URL; a self-hosted server needs no key', () => {
    const none = openaiSetup(parse({}), false);
    expect(none).toMatchObject({ configured: false, problems: [] });
    expect(none.configured ? '' : none.reason).toMatch(/OPENAI_API_KEY is not set/);
    const local = openaiSetup(parse({ OPENAI_BASE_URL: 'http://10.0.0.5:8000/v1/', OPENAI_SPEECH_MODEL: 'Systran/faster-whisper-small', OPENAI_ARTIFACTS: 'none' }), true);
    expect(local).toMatchObject({ configured: true, options: { baseURL: 'http://10.0.0.5:8000/v1', model: 'Systran/faster-whisper-small', artifacts: [] } });
  });

  it('refuses plain http to a remote host in production, and bad values', () => {
    const remote = openaiSetup(parse({ OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'http://speech.example.com/v1' }), true);
    expect(remote).toMatchObject({ configured: false, problems: [expect.stringMatching(/^OPENAI_BASE_URL: plain http/)] });
    expect(() => parse({ OPENAI_BASE_URL: 'ftp://x' })).toThrow();
    expect(() => parse({ OPENAI_TIMEOUT_MS: 'soon' })).toThrow();
    expect(parse({ OPENAI_ARTIFACTS: 'ring, Begin' }).OPENAI_ARTIFACTS).toEqual(['ring', 'Begin']);
  });
});

describe('languages', () => {
  it('maps BCP-47 to the ISO-639-1 code the API takes', () => {
    expect(planLanguage('en-US')).toEqual({ language: 'en' });
    expect(planLanguage('es-MX')).toEqual({ language: 'es' });
    expect(planLanguage('nb-NO')).toEqual({ language: 'no' });
    expect(planLanguage('jv-ID')).toEqual({ language: 'jw' });
    expect(planLanguage('fil-PH')).toEqual({ language: 'tl' });
    expect(planLanguage('zh-Hant-TW')).toEqual({ language: 'zh' });
  });

  it('Zulu is not accepted as language: a prompt in Zulu instead; unknown languages are auto-detected', () => {
    const zu = planLanguage('zu-ZA');
    expect(zu.language).toBeUndefined();
    expect(zu.nativePrompt).toMatch(/isiZulu|ngesiZulu/);
    expect(planLanguage('xx-YY')).toEqual({});
  });

  it('lists the primary languages it serves', () => {
    expect(supportedLanguages).toEqual(expect.arrayContaining(['en', 'de', 'zu', 'xh', 'nb', 'jv']));
    expect(supportedLanguages).not.toContain('jw');
    expect(new Set(supportedLanguages).size).toBe(supportedLanguages.length);
  });
});
