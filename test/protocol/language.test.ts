import { describe, expect, it } from 'vitest';
import { normalizeLanguageTag, primaryLanguage, sameLanguage } from '../../src/protocol/language.js';

describe('normalizeLanguageTag', () => {
  it('fixes case as Intl does', () => {
    expect(normalizeLanguageTag('es-es')).toBe('es-ES');
    expect(normalizeLanguageTag(' EN-us ')).toBe('en-US');
    expect(normalizeLanguageTag('sr-latn-rs')).toBe('sr-Latn-RS');
    expect(normalizeLanguageTag('zu_za')).toBe('zu-ZA');
    expect(normalizeLanguageTag('es-419')).toBe('es-419');
  });

  it('keeps the tag the user gave where Intl would swap it for another', () => {
    // Intl.getCanonicalLocales gives zh-Hans-CN, he-IL, fil-PH, sr-Latn-BA.
    expect(normalizeLanguageTag('cmn-hans-cn')).toBe('cmn-Hans-CN');
    expect(normalizeLanguageTag('iw-il')).toBe('iw-IL');
    expect(normalizeLanguageTag('tl-ph')).toBe('tl-PH');
    expect(normalizeLanguageTag('sh-ba')).toBe('sh-BA');
  });

  it('refuses what is not a language tag', () => {
    for (const bad of ['', ' ', 'x', 'english', 'en-', 'en US', '1234', 'und', 'und-US', 'i-klingon', 'en-US-!', 'e'.repeat(80)]) {
      expect(normalizeLanguageTag(bad), bad).toBeUndefined();
    }
  });
});

describe('primaryLanguage / sameLanguage', () => {
  it('compares languages, region and script aside, deprecated and macro-language codes folded', () => {
    expect(primaryLanguage('cmn-Hans-CN')).toBe('zh');
    expect(sameLanguage('en-US', 'en-GB')).toBe(true);
    expect(sameLanguage('cmn-Hans-CN', 'zh-TW')).toBe(true);
    expect(sameLanguage('nb-NO', 'no')).toBe(true);
    expect(sameLanguage('eu-ES', 'es-ES')).toBe(false);
  });
});
