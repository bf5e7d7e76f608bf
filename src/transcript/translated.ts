/**
 * A final transcript carried into another language: same utterance id, channel and span; the
 * translated text as the display interpretation; one token per word, timed across the utterance
 * span in proportion to word length (a translation has no word times of its own), each with the
 * recognition's confidence; `languages` = [target].
 */
import { parseDuration } from '../protocol/duration.js';
import { buildTranscriptEntity, splitLongResult } from './builder.js';
import type { TranscriptEntity } from './types.js';

export function translatedEntities(
  source: TranscriptEntity,
  text: string,
  target: string,
  tokenLanguage: 'full' | 'primary',
  newId: () => string,
): TranscriptEntity[] {
  const data = source.data;
  const startMs = Math.round((parseDuration(data.offset) ?? 0) * 1000);
  const endMs = startMs + Math.round((parseDuration(data.duration) ?? 0) * 1000);
  const confidence = data.alternatives[0]?.confidence;
  const result = {
    isFinal: data.isFinal,
    text,
    startMs,
    endMs,
    language: target,
    ...(confidence !== undefined ? { confidence } : {}),
  };
  // Times are already stream milliseconds: the mapping is the identity.
  return splitLongResult(result).map((part, i) =>
    buildTranscriptEntity({
      result: part,
      utteranceId: i === 0 ? data.id : newId(),
      channelId: data.channelId,
      language: target,
      toStreamSeconds: (ms) => ms / 1000,
      tokenLanguage,
    }),
  );
}

/** The display text of a transcript entity. */
export function entityText(entity: TranscriptEntity): string {
  return entity.data.alternatives[0]?.interpretations[0]?.transcript ?? '';
}

/** The language an entity was recognized in (its first `languages` entry). */
export function entityLanguage(entity: TranscriptEntity, fallback: string): string {
  return entity.data.alternatives[0]?.languages[0] ?? fallback;
}
