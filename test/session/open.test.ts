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
  } as OpenParameters;
}

const ctx: OpenContext = {
  organizationId: ORG.toUpperCase(),
  engines: createEngineRegistry([createSimulatedEngine()], 'simulated'),
  supportedLanguages: ['en-US', 'es-ES'],
  interimResults: false,
};

describe('negotiateOpen', () => {
  it('picks the stereo offer unchanged, the open language, and the server interim default', () => {
    const d = negotiateOpen(params({ language: ' es-ES ' }), ctx);
    expect(d).toMatchObject({ ok: true, probe: false, language: 'es-ES', interimResults: false, opened: { media: [stereo], startPaused: false } });
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
