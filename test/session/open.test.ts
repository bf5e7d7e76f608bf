import { describe, expect, it } from 'vitest';
import { createEngineRegistry } from '../../src/engines/registry.js';
import { createSimulatedEngine } from '../../src/engines/simulated/index.js';
import type { OpenParameters } from '../../src/protocol/messages.js';
import { NULL_UUID } from '../../src/protocol/auth.js';
import { negotiateOpen, type OpenContext } from '../../src/session/open.js';

const ORG = 'd7934305-0972-4844-938e-9060eef73d05';
const stereo = { type: 'audio' as const, format: 'PCMU', channels: ['external' as const, 'internal' as const], rate: 8000 };
const mono = { type: 'audio' as const, format: 'PCMU', channels: ['external' as const], rate: 8000 };

function params(extra: Partial<OpenParameters> = {}): OpenParameters {
  return {
    organizationId: ORG,
    conversationId: '11111111-2222-3333-4444-555555555555',
    participant: { id: '66666666-2222-3333-4444-555555555555', ani: '', aniName: '', dnis: '' },
    media: [stereo, mono],
    customConfig: {},
    ...extra,
    // As the parser gives it: every offer received, readable or not.
    rawMedia: extra.rawMedia ?? extra.media ?? [stereo, mono],
  } as OpenParameters;
}

const ctx: OpenContext = {
  organizationId: ORG.toUpperCase(),
  engines: createEngineRegistry([createSimulatedEngine()], 'simulated'),
  supportedLanguages: ['en-US', 'es-ES'],
  interimResults: false,
  translation: { configured: true },
};
const PROBE = { conversationId: NULL_UUID, participant: { id: NULL_UUID, ani: '', aniName: '', dnis: '' } };

describe('negotiateOpen', () => {
  it('picks the stereo offer unchanged, the open language, and the server interim default', () => {
    const d = negotiateOpen(params({ language: ' es-es ' }), ctx);
    expect(d).toMatchObject({ ok: true, probe: false, language: 'es-ES', translation: false, interimResults: false, opened: { media: [stereo], startPaused: false } });
    expect(d.ok && d.media).toBe(stereo);
    expect(d.ok && 'supportedLanguages' in d.opened).toBe(false);
  });

  it('defaults the language, lets customConfig switch interims on, and lists languages when asked', () => {
    const d = negotiateOpen(params({ customConfig: { interimResults: true }, supportedLanguages: true }), ctx);
    expect(d).toMatchObject({ ok: true, language: 'en-US', interimResults: true, opened: { supportedLanguages: ['en-US', 'es-ES'] } });
  });

  it('recognises a probe by its null conversation and participant ids', () => {
    const d = negotiateOpen(params({ conversationId: NULL_UUID, participant: { id: NULL_UUID, ani: '', aniName: '', dnis: '' } }), ctx);
    expect(d).toMatchObject({ ok: true, probe: true });
  });

  it('answers no offers with media [] and refuses offers it cannot take', () => {
    expect(negotiateOpen(params({ media: [] }), ctx)).toMatchObject({ ok: true, media: undefined, opened: { media: [] } });
    const opus = { type: 'audio' as const, format: 'opus', channels: ['external' as const], rate: 48000 };
    expect(negotiateOpen(params({ media: [opus] }), ctx)).toEqual({ ok: false, reason: 'error', info: 'no supported media' });
    // Offers the parser could not read are still offers: none usable is not a call without audio.
    expect(negotiateOpen(params({ media: [], rawMedia: [{ type: 'video' }] }), ctx)).toEqual({ ok: false, reason: 'error', info: 'no supported media' });
  });

  it('refuses another organization (unauthorized) and an unknown vendor (error, naming it)', () => {
    expect(negotiateOpen(params({ organizationId: '11111111-2222-3333-4444-555555555555' }), ctx)).toMatchObject({ ok: false, reason: 'unauthorized' });
    expect(negotiateOpen(params({ customConfig: { transcriptionVendor: 'Nope' } }), ctx)).toMatchObject({ ok: false, reason: 'error', info: expect.stringContaining("'nope'") });
  });
});

describe('negotiateOpen: customConfig.phrases', () => {
  const phrases = (value: unknown) => negotiateOpen(params({ customConfig: { phrases: value } }), ctx);

  it('takes a bounded list of strings, trimmed, blanks and repeats left out', () => {
    expect(phrases([' Acme  Premium ', 'Zyrtec', '', 'Zyrtec'])).toMatchObject({ ok: true, phrases: ['Acme Premium', 'Zyrtec'] });
    expect(phrases(undefined)).toMatchObject({ ok: true, phrases: undefined });
    expect(phrases([])).toMatchObject({ ok: true, phrases: undefined });
  });

  it('refuses anything else at open, probes included, with a clear info', () => {
    expect(phrases('Acme')).toEqual({ ok: false, reason: 'error', info: 'customConfig.phrases must be a list of strings' });
    expect(phrases(['ok', 3])).toMatchObject({ ok: false, info: 'customConfig.phrases must be a list of strings' });
    expect(phrases(Array.from({ length: 501 }, (_, i) => `p${i}`))).toMatchObject({ ok: false, info: 'customConfig.phrases: at most 500 phrases' });
    expect(phrases(['x'.repeat(101)])).toMatchObject({ ok: false, info: 'customConfig.phrases: each phrase at most 100 characters' });
    const probe = negotiateOpen(
      params({ conversationId: NULL_UUID, participant: { id: NULL_UUID, ani: '', aniName: '', dnis: '' }, customConfig: { phrases: {} } }),
      ctx,
    );
    expect(probe).toMatchObject({ ok: false, reason: 'error' });
  });
});

describe('negotiateOpen: the probe lists the languages the engine really recognizes', () => {
  const probe = (engineLanguages: readonly string[] | undefined, configured: string[]) => {
    const engine = { ...createSimulatedEngine(), ...(engineLanguages ? { languages: engineLanguages } : {}) };
    const decision = negotiateOpen(
      params({ conversationId: NULL_UUID, participant: { id: NULL_UUID, ani: '', aniName: '', dnis: '' }, supportedLanguages: true } as Partial<OpenParameters>),
      { ...ctx, engines: createEngineRegistry([engine], 'simulated'), supportedLanguages: configured },
    );
    return decision.ok ? decision.opened['supportedLanguages'] : decision;
  };

  it('keeps the configured languages the engine covers, by full tag or primary subtag', () => {
    expect(probe(['en', 'es', 'zu'], ['en-US', 'es-ES', 'de-DE', 'zu-ZA'])).toEqual(['en-US', 'es-ES', 'zu-ZA']);
    expect(probe(['en-US'], ['en-US', 'en-GB'])).toEqual(['en-US']);
    expect(probe(undefined, ['en-US', 'de-DE'])).toEqual(['en-US', 'de-DE']);
  });

  it('answers an English-only engine with its own tag when none of the configured ones fit', () => {
    expect(probe(['en-US'], ['es-ES'])).toEqual(['en-US']);
  });
});

describe('negotiateOpen: languages and translation', () => {
  const withEngine = (languages: readonly string[] | 'any', extra: Partial<OpenContext> = {}): OpenContext => ({
    ...ctx,
    engines: createEngineRegistry([{ ...createSimulatedEngine(), languages }], 'simulated'),
    ...extra,
  });
  const probeWith = (c: OpenContext, customConfig: Record<string, unknown> = {}) => {
    const d = negotiateOpen(params({ ...PROBE, supportedLanguages: true, customConfig } as Partial<OpenParameters>), c);
    return d.ok ? d.opened['supportedLanguages'] : d;
  };
  const translate = { enableTranslation: true, inputLanguage: 'eu-es' };

  it('lists, with SUPPORTED_LANGUAGES unset, what the engine declares, plus every Gemini target when a source is pinned', () => {
    const unset = { supportedLanguages: undefined };
    expect(probeWith(withEngine(['en-US', 'en'], unset))).toEqual(['en-US']); // full tags stand for their primaries
    expect(probeWith(withEngine(['eu', 'en'], unset))).toEqual(['eu', 'en']);
    expect(probeWith(withEngine('any', unset))).toEqual(['en-US']); // nothing declared: the default language
    expect(probeWith(withEngine('any', { ...unset, defaultLanguage: 'de-DE' }))).toEqual(['de-DE']);
    const translated = probeWith(withEngine(['eu'], unset), translate) as string[];
    expect(translated).toEqual(expect.arrayContaining(['eu', 'en', 'fr', 'zh', 'zu']));
  });

  it('narrows by SUPPORTED_LANGUAGES: recognized ones, and with translation the Gemini targets', () => {
    const configured = { supportedLanguages: ['en-US', 'fr-FR', 'eu-ES', 'tlh-XX'] };
    expect(probeWith(withEngine(['eu'], configured))).toEqual(['eu-ES']);
    expect(probeWith(withEngine(['eu'], configured), translate)).toEqual(['en-US', 'fr-FR', 'eu-ES']);
    // Translation on but no pinned source: recognition follows the session language, so no more than without.
    expect(probeWith(withEngine(['eu'], configured), { enableTranslation: true })).toEqual(['eu-ES']);
    expect(probeWith(withEngine('any', configured))).toEqual(['en-US', 'fr-FR', 'eu-ES', 'tlh-XX']);
  });

  it('starts paused when the engine does not recognize the session language (not for probes)', () => {
    expect(negotiateOpen(params({ language: 'eu-ES' }), withEngine(['en']))).toMatchObject({ ok: true, recognitionSupported: false, opened: { startPaused: true } });
    expect(negotiateOpen(params({ ...PROBE, language: 'eu-ES' }), withEngine(['en']))).toMatchObject({ ok: true, opened: { startPaused: false } });
    // Translating from a source it recognizes: the session language is only the target.
    expect(negotiateOpen(params({ language: 'ja-JP', customConfig: { enableTranslation: 'TRUE', inputLanguage: 'en-GB' } }), withEngine(['en']))).toMatchObject({
      ok: true,
      translation: true,
      inputLanguage: 'en-GB',
      language: 'ja-JP',
      opened: { startPaused: false },
    });
  });

  it('refuses, with one clear line: a bad enableTranslation, translation not configured, a bad or unrecognized inputLanguage, a bad language', () => {
    const info = (customConfig: Record<string, unknown>, c: OpenContext = ctx, language?: string) => {
      const d = negotiateOpen(params({ customConfig, ...(language ? { language } : {}) }), c);
      return d.ok ? 'ok' : d.info;
    };
    expect(info({ enableTranslation: 'yes' })).toBe('customConfig.enableTranslation must be true or false');
    expect(info({ enableTranslation: 1 })).toBe('customConfig.enableTranslation must be true or false');
    expect(info({ enableTranslation: 'false', inputLanguage: 'xx!' })).toMatch(/^customConfig.inputLanguage 'xx!' is not a BCP-47 language tag/);
    expect(info({ enableTranslation: true }, { ...ctx, translation: { configured: false, reason: 'GEMINI_API_KEY is not set' } })).toBe(
      'customConfig.enableTranslation: translation is not configured on this server: GEMINI_API_KEY is not set',
    );
    expect(info(translate, withEngine(['en']))).toBe("customConfig.inputLanguage 'eu-ES' is not recognized by the 'simulated' engine");
    expect(info({}, ctx, 'english')).toMatch(/^open.language 'english' is not a BCP-47 language tag/);
  });

  it('checks the glossary: an object of non-empty strings, bounded', () => {
    const glossary = (value: unknown) => negotiateOpen(params({ customConfig: { ...translate, glossary: value } }), ctx);
    expect(glossary({ ' Acme  Premium ': ' Acme Premium ', IBAN: 'IBAN' })).toMatchObject({ ok: true, glossary: { 'Acme Premium': 'Acme Premium', IBAN: 'IBAN' } });
    expect(glossary({})).toMatchObject({ ok: true, glossary: undefined });
    expect(glossary(['a'])).toMatchObject({ ok: false, info: 'customConfig.glossary must be an object {"term": "translation"}' });
    expect(glossary({ a: 1 })).toMatchObject({ ok: false, info: 'customConfig.glossary must be an object {"term": "translation"}' });
    expect(glossary({ a: ' ' })).toMatchObject({ ok: false, info: 'customConfig.glossary: terms and translations must not be empty' });
    expect(glossary(Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`t${i}`, 'x'])))).toMatchObject({ ok: false, info: 'customConfig.glossary: at most 200 terms' });
    expect(glossary({ ['x'.repeat(101)]: 'y' })).toMatchObject({ ok: false, info: 'customConfig.glossary: each term at most 100 characters' });
    expect(glossary({ y: 'x'.repeat(201) })).toMatchObject({ ok: false, info: 'customConfig.glossary: each translation at most 200 characters' });
  });
});
