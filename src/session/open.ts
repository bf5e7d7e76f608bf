/**
 * What the server answers to `open` (protocol §3, §5, §9), decided without side effects: the
 * session sends the answer and starts (or, for probes, does not start) the engines.
 */
import type { EngineRegistry } from '../engines/registry.js';
import { engineSupportsLanguage, type SpeechEngine } from '../engines/types.js';
import { NULL_UUID } from '../protocol/auth.js';
import { chooseMedia } from '../protocol/media.js';
import type { MediaOffer, OpenParameters } from '../protocol/messages.js';
import { isProblem, parseEnableTranslation, parseGlossary, parseLanguage } from './custom-config.js';
import { probeLanguages } from './languages.js';

export interface OpenContext {
  /** From the authenticated upgrade: `open` must name the same organization. */
  organizationId: string;
  engines: EngineRegistry;
  /** SUPPORTED_LANGUAGES when set: narrows what the probe lists. */
  supportedLanguages: readonly string[] | undefined;
  /** The session language when `open` names none (default: the first supported language, else en-US). */
  defaultLanguage?: string;
  /** Server default for interim results; `customConfig.interimResults` overrides it. */
  interimResults: boolean;
  /** Whether this server can translate (why not, when it cannot). */
  translation?: { configured: true } | { configured: false; reason: string };
  /** FALLBACK_SPEECH_PROVIDER: where calls continue when their engine fails, unless customConfig names another. */
  fallbackEngine?: SpeechEngine | undefined;
}

export type OpenDecision =
  | { ok: false; reason: 'unauthorized' | 'error'; info: string }
  | {
      ok: true;
      /** A connection probe (§9): answered, but no speech session is started. */
      probe: boolean;
      engine: SpeechEngine;
      /** Where the call continues when `engine` cannot recover (customConfig.fallbackVendor, else the server's). */
      fallback: SpeechEngine | undefined;
      /** The chosen offer, unchanged; undefined when the client offered none. */
      media: MediaOffer | undefined;
      /** The session language (`open.language`, canonical): the target when translating. */
      language: string;
      /** `customConfig.inputLanguage` of a translating session: recognition stays in it. */
      inputLanguage: string | undefined;
      /** Whether the session's engine recognizes the language it must recognize in (else it starts paused). */
      recognitionSupported: boolean;
      translation: boolean;
      glossary: Readonly<Record<string, string>> | undefined;
      interimResults: boolean;
      /** `customConfig.phrases`, validated. */
      phrases: readonly string[] | undefined;
      /** Parameters of the `opened` reply. */
      opened: Record<string, unknown>;
    };

/** §9: a connection probe carries the null UUID as conversation and participant. */
export function isProbe(p: Pick<OpenParameters, 'conversationId' | 'participant'>): boolean {
  return p.conversationId === NULL_UUID && p.participant.id === NULL_UUID;
}

export function negotiateOpen(p: OpenParameters, ctx: OpenContext): OpenDecision {
  if (p.organizationId.toLowerCase() !== ctx.organizationId.toLowerCase()) {
    return { ok: false, reason: 'unauthorized', info: 'organizationId does not match' };
  }
  const probe = isProbe(p);
  const resolution = ctx.engines.resolve(p.customConfig['transcriptionVendor']);
  if (!resolution.ok) return { ok: false, reason: 'error', info: resolution.reason };
  let media: MediaOffer | undefined;
  // Offers we could not read still count as offers: none usable is `no supported media`, not a call without audio.
  if (p.rawMedia.length > 0) {
    media = chooseMedia(p.media);
    if (!media) return { ok: false, reason: 'error', info: 'no supported media' };
  }
  const engine = resolution.engine;
  const cc = p.customConfig;
  const fallback = resolveFallback(cc['fallbackVendor'], engine, ctx);
  if (typeof fallback === 'string') return refuse(fallback);
  const phrases = parsePhrases(cc['phrases']);
  if (typeof phrases === 'string') return { ok: false, reason: 'error', info: phrases };
  const openLanguage = parseLanguage(p.language, 'open.language');
  if (isProblem(openLanguage)) return refuse(openLanguage.problem);
  const inputLanguage = parseLanguage(cc['inputLanguage'], 'customConfig.inputLanguage');
  if (isProblem(inputLanguage)) return refuse(inputLanguage.problem);
  const translation = parseEnableTranslation(cc['enableTranslation']);
  if (isProblem(translation)) return refuse(translation.problem);
  const glossary = parseGlossary(cc['glossary']);
  if (isProblem(glossary)) return refuse(glossary.problem);
  if (translation && ctx.translation?.configured !== true) {
    const why = ctx.translation?.configured === false ? ctx.translation.reason : 'not set up';
    return refuse(`customConfig.enableTranslation: translation is not configured on this server: ${why}`);
  }
  // A pinned source the engine cannot recognize is a configuration error, not a language change to wait out.
  const pinned = translation ? inputLanguage : undefined;
  if (pinned && !engineSupportsLanguage(engine, pinned)) {
    return refuse(`customConfig.inputLanguage '${pinned}' is not recognized by the '${engine.name}' engine`);
  }
  const defaultLanguage = ctx.defaultLanguage ?? ctx.supportedLanguages?.[0] ?? 'en-US';
  const language = openLanguage ?? defaultLanguage;
  const recognitionSupported = engineSupportsLanguage(engine, pinned ?? language);
  if (fallback.named && fallback.engine && recognitionSupported && !engineSupportsLanguage(fallback.engine, pinned ?? language)) {
    return refuse(`customConfig.fallbackVendor '${fallback.engine.name}' does not recognize ${pinned ?? language}`);
  }
  const opened: Record<string, unknown> = { media: media ? [media] : [], startPaused: !probe && media !== undefined && !recognitionSupported };
  if (p.supportedLanguages === true) {
    opened['supportedLanguages'] = probeLanguages({ configured: ctx.supportedLanguages, engine, translatedFrom: pinned, defaultLanguage });
  }
  const interim = cc['interimResults'];
  return {
    ok: true,
    probe,
    engine,
    fallback: fallback.engine && engineSupportsLanguage(fallback.engine, pinned ?? language) ? fallback.engine : undefined,
    media,
    language,
    inputLanguage: pinned,
    recognitionSupported,
    translation,
    glossary,
    interimResults: typeof interim === 'boolean' ? interim : ctx.interimResults,
    phrases,
    opened,
  };
}

/**
 * customConfig.fallbackVendor (checked like transcriptionVendor: an unknown or unconfigured one
 * fails the session and the probe), else the server's FALLBACK_SPEECH_PROVIDER; none when it is
 * the session's own engine.
 */
function resolveFallback(value: unknown, engine: SpeechEngine, ctx: OpenContext): { engine: SpeechEngine | undefined; named: boolean } | string {
  if (value === undefined || value === null || value === '') {
    const fallback = ctx.fallbackEngine;
    return { engine: fallback && fallback.name !== engine.name ? fallback : undefined, named: false };
  }
  if (typeof value !== 'string') return 'customConfig.fallbackVendor must be a string';
  const resolved = ctx.engines.resolve(value);
  if (!resolved.ok) return `customConfig.fallbackVendor: ${resolved.reason.replace(/^(unknown )?transcriptionVendor /, '$1engine ')}`;
  if (resolved.engine.name === engine.name) return `customConfig.fallbackVendor must name another engine than '${engine.name}'`;
  return { engine: resolved.engine, named: true };
}

function refuse(info: string): OpenDecision {
  return { ok: false, reason: 'error', info };
}

/** Bounds of `customConfig.phrases`: what one inline phrase set comfortably takes. */
export const MAX_PHRASES = 500;
export const MAX_PHRASE_LENGTH = 100;

/** `customConfig.phrases`: a list of non-empty strings, bounded; returns the problem as text. */
function parsePhrases(value: unknown): readonly string[] | undefined | string {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) return 'customConfig.phrases must be a list of strings';
  if (value.length > MAX_PHRASES) return `customConfig.phrases: at most ${MAX_PHRASES} phrases`;
  const phrases: string[] = [];
  for (const item of value) {
    if (typeof item !== 'string') return 'customConfig.phrases must be a list of strings';
    const phrase = item.trim().replace(/\s+/g, ' ');
    if (phrase.length > MAX_PHRASE_LENGTH) return `customConfig.phrases: each phrase at most ${MAX_PHRASE_LENGTH} characters`;
    if (phrase !== '' && !phrases.includes(phrase)) phrases.push(phrase);
  }
  return phrases.length > 0 ? phrases : undefined;
}
