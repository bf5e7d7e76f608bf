/**
 * One session's translation: between the channels' transcripts and the outbound queue.
 *
 * - A final whose language differs from the target is translated (with the call's last few
 *   utterances as context and the glossary terms it contains); one in the target's language
 *   passes as it is, without a call.
 * - Interims are not sent while the session translates: they would show text in a language the
 *   consumer does not read, only to be replaced. Same-language interims pass.
 * - A final is never dropped: on failure or past the deadline the source text goes out, counted
 *   and logged at warn (never the text).
 * - Each channel's transcripts leave in utterance order (OrderedOutput).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { parseDuration } from '../protocol/duration.js';
import { sameLanguage } from '../protocol/language.js';
import { entityLanguage, entityText, translatedEntities } from '../transcript/translated.js';
import type { TranscriptEntity } from '../transcript/types.js';
import { OrderedOutput } from './ordered.js';
import type { TranslationService } from './service.js';
import type { ContextUtterance } from './types.js';

export type TranslationOutcomeKind = 'translated' | 'skipped' | 'timeout' | 'failed';

export interface TranscriptOut {
  entity: TranscriptEntity;
  isFinal: boolean;
  /** performance.now() of the audio (or result) that produced the transcript. */
  producedAt: number;
}

export interface SessionTranslationOptions {
  service: TranslationService;
  /** The language finals are delivered in (open.language, then each update). */
  target: string;
  /** The recognition language, when the engine does not say which one it heard. */
  source: () => string;
  glossary: Readonly<Record<string, string>> | undefined;
  contextUtterances: number;
  speakerOf(channelId: number): ContextUtterance['speaker'];
  tokenLanguage: 'full' | 'primary';
  emit(out: TranscriptOut): void;
  log: Logger;
  onOutcome?(outcome: TranslationOutcomeKind, ms: number): void;
}

export class SessionTranslation {
  /** Targets by the stream position they apply from (ascending): an utterance goes to the one its start falls under. */
  private readonly targets: Array<{ from: number; language: string }>;
  private readonly outputs = new Map<number, OrderedOutput<TranscriptOut>>();
  private readonly context: ContextUtterance[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  readonly counts = { translated: 0, skipped: 0, fallbacks: 0, interimsNotSent: 0 };

  constructor(private readonly options: SessionTranslationOptions) {
    this.targets = [{ from: 0, language: options.target }];
  }

  /**
   * `update`: utterances starting from stream position `fromSeconds` are delivered in `language`;
   * the one the update cut (finalized by the engine a little later) keeps the old target.
   */
  setTarget(language: string, fromSeconds: number): void {
    while (this.targets.length > 1 && this.targets.at(-1)!.from >= fromSeconds) this.targets.pop();
    this.targets.push({ from: fromSeconds, language });
    // Only recent targets matter (utterances end within seconds): keep the list short on a chatty client.
    if (this.targets.length > 16) this.targets.splice(0, 1);
  }

  private targetAt(seconds: number): string {
    let language = this.targets[0]!.language;
    for (const t of this.targets) if (t.from <= seconds) language = t.language;
    return language;
  }

  submit(out: TranscriptOut): void {
    const { entity, isFinal } = out;
    const output = this.outputFor(entity.data.channelId);
    const source = entityLanguage(entity, this.options.source());
    const target = this.targetAt(parseDuration(entity.data.offset) ?? 0);
    if (sameLanguage(source, target)) {
      if (isFinal) {
        this.record('skipped', 0, entity);
        this.remember(entity, entityText(entity));
      }
      return output.push(out);
    }
    if (!isFinal) {
      this.counts.interimsNotSent += 1;
      return;
    }
    const place = output.reserve();
    const text = entityText(entity);
    const context = this.context.slice();
    this.remember(entity, text);
    const job = this.translate(out, text, source, target, context).then(place);
    this.pending.add(job);
    void job.finally(() => this.pending.delete(job));
  }

  /** Resolves once every final submitted so far has been handed on. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** The session ended: translations in flight are abandoned (their transcripts can no longer be sent). */
  dispose(): void {
    this.abort.abort();
  }

  private async translate(out: TranscriptOut, text: string, source: string, target: string, context: ContextUtterance[]): Promise<TranscriptOut[]> {
    const started = performance.now();
    const result = await this.options.service.translate(text, {
      source,
      target,
      context,
      glossary: glossaryFor(text, this.options.glossary),
      signal: this.abort.signal,
      startedAt: out.producedAt,
    });
    const ms = performance.now() - started;
    if (result.ok) {
      this.record('translated', ms, out.entity);
      const entities = translatedEntities(out.entity, result.text, target, this.options.tokenLanguage, randomUUID);
      return entities.map((entity) => ({ ...out, entity }));
    }
    // A session that ended abandons its translations: nothing to count, nothing to send.
    if (this.abort.signal.aborted) return [out];
    this.record(result.why, ms, out.entity);
    this.options.log.warn(
      { channel: out.entity.data.channelId, utterance: out.entity.data.id, why: result.why, attempts: result.attempts, error: result.error, ms: Math.round(ms), source, target },
      'translation not available; sending the transcript in its source language',
    );
    return [out];
  }

  private record(outcome: TranslationOutcomeKind, ms: number, entity: TranscriptEntity): void {
    if (outcome === 'translated') this.counts.translated += 1;
    else if (outcome === 'skipped') this.counts.skipped += 1;
    else this.counts.fallbacks += 1;
    this.options.onOutcome?.(outcome, ms);
    this.options.log.debug({ channel: entity.data.channelId, utterance: entity.data.id, outcome, ms: Math.round(ms) }, 'translation');
  }

  private remember(entity: TranscriptEntity, text: string): void {
    if (this.options.contextUtterances === 0) return;
    this.context.push({ speaker: this.options.speakerOf(entity.data.channelId), text });
    if (this.context.length > this.options.contextUtterances) this.context.shift();
  }

  private outputFor(channelId: number): OrderedOutput<TranscriptOut> {
    let output = this.outputs.get(channelId);
    if (!output) {
      output = new OrderedOutput((o) => this.options.emit(o));
      this.outputs.set(channelId, output);
    }
    return output;
  }
}

/** The glossary entries whose term occurs in `text` (case-insensitive): all the model needs. */
export function glossaryFor(text: string, glossary: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const used: Record<string, string> = {};
  if (!glossary) return used;
  const haystack = text.toLocaleLowerCase();
  for (const [term, translation] of Object.entries(glossary)) {
    if (haystack.includes(term.toLocaleLowerCase())) used[term] = translation;
  }
  return used;
}
