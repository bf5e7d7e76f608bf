/**
 * A session's languages over time: the session language (`open.language`, then each `update`),
 * the language audio is recognized in, and whether the engine serves it.
 *
 * Every `update` is an utterance boundary (as in Genesys' reference server): what each channel
 * has heard so far is finalized, whether or not the language changed. A translating session
 * with a pinned source (`customConfig.inputLanguage`) keeps recognizing in it; any other
 * recognizes in the new language — or, when its engine does not serve it, asks the client to
 * pause (`opened.startPaused` at open, `pause` later) until an `update` brings one it does.
 */
import type { Logger } from 'pino';
import { engineSupportsLanguage, type SpeechEngine } from '../engines/types.js';
import type { ChannelPipeline } from './channel.js';

export interface RecognitionHost {
  readonly engine: SpeechEngine;
  readonly log: Logger;
  channels(): readonly ChannelPipeline[];
  /** Creates the channel pipelines, recognizing in `language`. */
  startChannels(language: string): void;
  flush(channel: ChannelPipeline, why: string): void;
  /** Whether the client streams (not paused, not closing). */
  clientActive(): boolean;
  send(type: 'pause' | 'resume'): void;
}

export class RecognitionLanguage {
  private sessionLanguage: string;
  private held: boolean;
  /** We asked the client to pause (`startPaused` or `pause`): ours to end with `resume`. */
  private pauseRequested: boolean;

  /**
   * @param inputLanguage the pinned source of a translating session
   * @param startPaused   `opened.startPaused` was sent (the engine does not serve the language)
   */
  constructor(
    language: string,
    private readonly inputLanguage: string | undefined,
    startPaused: boolean,
    private readonly host: RecognitionHost,
  ) {
    this.sessionLanguage = language;
    this.held = !engineSupportsLanguage(host.engine, this.recognized);
    this.pauseRequested = startPaused;
  }

  /** The session language: the target when translating. */
  get language(): string {
    return this.sessionLanguage;
  }

  /** The language audio is recognized in. */
  get recognized(): string {
    return this.inputLanguage ?? this.sessionLanguage;
  }

  /** Audio is not recognized: the engine does not serve the language (a `pause` is asked or on its way). */
  get isHeld(): boolean {
    return this.held;
  }

  /** At open: channels start now, or once an `update` brings a language the engine serves. */
  start(): void {
    if (this.held) this.logHeld('opened paused');
    else this.host.startChannels(this.recognized);
  }

  update(language: string): void {
    this.sessionLanguage = language;
    if (this.inputLanguage) return this.flushAll();
    if (!engineSupportsLanguage(this.host.engine, language)) {
      this.flushAll();
      if (this.held) return this.logHeld('still paused');
      this.held = true;
      this.logHeld('pausing');
      return this.requestPause();
    }
    for (const ch of this.host.channels()) {
      // A change retires the old stream, which finalizes it; the same language is finalized in place.
      if (ch.language === language) this.host.flush(ch, 'update');
      else ch.changeLanguage(language).catch((err: unknown) => this.host.log.warn({ err, channel: ch.channelId }, 'language change failed'));
    }
    if (!this.held) return;
    this.held = false;
    if (this.host.channels().length === 0) this.host.startChannels(language);
    this.host.log.info({ language }, 'the engine recognizes the new language; resuming');
    if (this.pauseRequested) {
      this.pauseRequested = false;
      this.host.send('resume');
    }
  }

  /** The client resumed by itself (end of a hold) while recognition is held: ask it to pause. */
  clientResumed(): void {
    if (this.held) this.requestPause();
  }

  private requestPause(): void {
    if (!this.host.clientActive() || this.pauseRequested) return;
    this.pauseRequested = true;
    this.host.send('pause');
  }

  private flushAll(): void {
    for (const ch of this.host.channels()) this.host.flush(ch, 'update');
  }

  private logHeld(what: string): void {
    this.host.log.warn({ language: this.recognized, engine: this.host.engine.name }, `${what}: the engine does not recognize this language; waiting for an update`);
  }
}
