/**
 * What the server answers to `open` (protocol §3, §5, §9), decided without side effects: the
 * session sends the answer and starts (or, for probes, does not start) the engines.
 */
import type { EngineRegistry } from '../engines/registry.js';
import { engineSupportsLanguage, type SpeechEngine } from '../engines/types.js';
import { NULL_UUID } from '../protocol/auth.js';
import { chooseMedia } from '../protocol/media.js';
import type { MediaOffer, OpenParameters } from '../protocol/messages.js';

export interface OpenContext {
  /** From the authenticated upgrade: `open` must name the same organization. */
  organizationId: string;
  engines: EngineRegistry;
  supportedLanguages: readonly string[];
  /** Server default for interim results; `customConfig.interimResults` overrides it. */
  interimResults: boolean;
}

export type OpenDecision =
  | { ok: false; reason: 'unauthorized' | 'error'; info: string }
  | {
      ok: true;
      /** A connection probe (§9): answered, but no speech session is started. */
      probe: boolean;
      engine: SpeechEngine;
      /** The chosen offer, unchanged; undefined when the client offered none. */
      media: MediaOffer | undefined;
      language: string;
      interimResults: boolean;
      /** `customConfig.phrases`, validated. */
      phrases: readonly string[] | undefined;
      /** Parameters of the `opened` reply. */
      opened: Record<string, unknown>;
    };

export function negotiateOpen(p: OpenParameters, ctx: OpenContext): OpenDecision {
  if (p.organizationId.toLowerCase() !== ctx.organizationId.toLowerCase()) {
    return { ok: false, reason: 'unauthorized', info: 'organizationId does not match' };
  }
  const probe = p.conversationId === NULL_UUID && p.participant.id === NULL_UUID;
  const resolution = ctx.engines.resolve(p.customConfig['transcriptionVendor']);
  if (!resolution.ok) return { ok: false, reason: 'error', info: resolution.reason };
  let media: MediaOffer | undefined;
  if (p.media.length > 0) {
    media = chooseMedia(p.media);
    if (!media) return { ok: false, reason: 'error', info: 'no supported media' };
  }
  const opened: Record<string, unknown> = { media: media ? [media] : [], startPaused: false };
  if (p.supportedLanguages === true) opened['supportedLanguages'] = probeLanguages(ctx.supportedLanguages, resolution.engine);
  const interim = p.customConfig['interimResults'];
  const phrases = parsePhrases(p.customConfig['phrases']);
  if (typeof phrases === 'string') return { ok: false, reason: 'error', info: phrases };
  return {
    ok: true,
    probe,
    engine: resolution.engine,
    media,
    language: p.language?.trim() || ctx.supportedLanguages[0]!,
    interimResults: typeof interim === 'boolean' ? interim : ctx.interimResults,
    phrases,
    opened,
  };
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

/**
 * The languages a probe is told: the configured ones the session's engine can recognize, so an
 * integration is never offered a language its engine would not transcribe. When the engine takes
 * none of them, its own full tags (an English-only engine answers `en-US`).
 */
function probeLanguages(configured: readonly string[], engine: SpeechEngine): string[] {
  const usable = configured.filter((l) => engineSupportsLanguage(engine, l));
  if (usable.length > 0 || !engine.languages) return usable.length > 0 ? usable : [...configured];
  return engine.languages.filter((l) => l.includes('-'));
}
