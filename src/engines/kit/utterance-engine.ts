/**
 * Turns a recognizer of whole utterances (OpenAI, pocketsphinx…) into a streaming engine: the
 * segmenter cuts the audio at pauses, each utterance is recognized on its own, and the results go
 * out in utterance order, stamped with the utterance's speech span.
 *
 * Bounds, so a slow recognizer never grows memory without limit: per process at most
 * `concurrency` recognitions run (p-limit); per stream at most `streamInFlight` are started and at
 * most `maxWaiting` finished utterances wait behind them. An utterance that finds the backlog full
 * is merged into the newest waiting one (the silence between them kept as zeros, so times stay
 * exact) while the merged span stays within the maximum utterance; otherwise the oldest waiting
 * utterance is dropped to make room. Both are counted and logged at warn, and the counts again at
 * stream close.
 */
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { EngineStream, EngineStreamOptions, RecognitionResult, SpeechEngine, UtteranceRecognizer } from '../types.js';
import { EngineError } from '../types.js';
import { createSegmenter, mergeSegments, SEGMENTER_DEFAULTS, type Segment, type SegmenterOptions } from './segmenter.js';
import { placeWords } from './words.js';
import { createResultSink } from './sink.js';

/** What the utterance engine passes to a recognizer: the contract's options and a few extras. */
export interface RecognizeOptions {
  language: string;
  sampleRate: number;
  signal: AbortSignal;
  /** The session's vocabulary (names, product terms). */
  phrases?: readonly string[];
  /** The channel's last recognized utterance, as context. */
  previousText?: string;
  /** Partial text so far (cumulative), when the recognizer streams it and interims are wanted. */
  onPartial?: (text: string) => void;
}

export interface RecognizerCapabilities {
  /** Word times relative to pcm[0] are real; otherwise words are spread over the speech span. */
  wordTimes: boolean;
  wordConfidence: boolean;
  /** Calls `onPartial` while recognizing. */
  partials: boolean;
}

export interface SegmentRecognizer extends UtteranceRecognizer {
  readonly capabilities?: Partial<RecognizerCapabilities>;
  recognize(pcm: Int16Array, options: RecognizeOptions): ReturnType<UtteranceRecognizer['recognize']>;
}

export interface UtteranceEngineOptions {
  segmenter?: SegmenterOptions;
  /** Recognitions in flight per process (this engine). Default 16. */
  concurrency?: number;
  /** Recognitions started per stream. Default 2. */
  streamInFlight?: number;
  /** Finished utterances waiting per stream behind those in flight. Default 4. */
  maxWaiting?: number;
}

interface Job {
  seq: number;
  segment: Segment;
  state: 'waiting' | 'running' | 'done';
  controller?: AbortController;
  result?: Awaited<ReturnType<UtteranceRecognizer['recognize']>>;
  /** A refusal that ends the stream, reported in turn (the utterances before it go out first). */
  fatal?: EngineError;
  /** Latest partial text not yet shown, and whether an interim went out for this utterance. */
  partial?: string;
  interimSent: boolean;
}

interface Counts {
  utterances: number;
  recognized: number;
  failed: number;
  merged: number;
  dropped: number;
}

export function createUtteranceEngine(recognizer: UtteranceRecognizer | SegmentRecognizer, options: UtteranceEngineOptions = {}): SpeechEngine {
  const caps: RecognizerCapabilities = { wordTimes: true, wordConfidence: false, partials: false, ...(recognizer as SegmentRecognizer).capabilities };
  const limit = pLimit(Math.max(1, options.concurrency ?? 16));
  const settings = {
    segmenter: { ...SEGMENTER_DEFAULTS, ...options.segmenter },
    streamInFlight: Math.max(1, options.streamInFlight ?? 2),
    maxWaiting: Math.max(1, options.maxWaiting ?? 4),
  };
  return {
    name: recognizer.name,
    // Not `restartable`: a failed recognition is retried here, per utterance, and only errors no
    // new stream could fix reach onError, so the pipeline's replay copy would be memory for nothing.
    capabilities: { interimResults: caps.partials, wordTimes: caps.wordTimes, wordConfidence: caps.wordConfidence },
    openStream: (streamOptions) => openUtteranceStream(recognizer as SegmentRecognizer, caps, limit, settings, streamOptions),
  };
}

function openUtteranceStream(
  recognizer: SegmentRecognizer,
  caps: RecognizerCapabilities,
  limit: ReturnType<typeof pLimit>,
  settings: { segmenter: Required<SegmenterOptions>; streamInFlight: number; maxWaiting: number },
  options: EngineStreamOptions,
): EngineStream {
  const rate = options.sampleRate > 0 ? options.sampleRate : 8000;
  const log: Logger = options.log;
  const sink = createResultSink(options, log, recognizer.name);
  const phrases = options.phrases;
  const msOf = (sample: number) => (sample * 1000) / rate;
  const maxMergedSamples = Math.round((settings.segmenter.maxUtteranceMs * rate) / 1000);
  const counts: Counts = { utterances: 0, recognized: 0, failed: 0, merged: 0, dropped: 0 };
  const jobs: Job[] = []; // undelivered, in utterance order
  const flushWaiters: { seq: number; resolve: () => void }[] = [];
  let nextSeq = 0;
  let running = 0;
  let previousText: string | undefined;
  let closed = false;

  const spanOf = (s: Segment) => ({ startMs: Math.round(msOf(s.startSample)), endMs: Math.round(msOf(s.endSample)) });

  function onSegment(segment: Segment): void {
    counts.utterances++;
    const waiting = jobs.filter((j) => j.state === 'waiting');
    if (waiting.length < settings.maxWaiting) {
      jobs.push({ seq: nextSeq++, segment, state: 'waiting', interimSent: false });
      pump();
      return;
    }
    // The recognizer is behind: join the newest waiting utterance, or make room by dropping the oldest.
    const last = waiting[waiting.length - 1]!;
    if (segment.pcmStartSample + segment.pcm.length - last.segment.pcmStartSample <= maxMergedSamples) {
      last.segment = mergeSegments(last.segment, segment);
      counts.merged++;
      log.warn({ engine: recognizer.name, span: spanOf(last.segment) }, 'recognizer behind: utterance merged into the waiting one');
      return;
    }
    const oldest = waiting[0]!;
    counts.dropped++;
    log.warn({ engine: recognizer.name, span: spanOf(oldest.segment) }, 'recognizer behind: waiting utterance dropped');
    jobs.splice(jobs.indexOf(oldest), 1);
    jobs.push({ seq: nextSeq++, segment, state: 'waiting', interimSent: false });
    deliver();
  }

  function pump(): void {
    while (!closed && running < settings.streamInFlight) {
      const job = jobs.find((j) => j.state === 'waiting');
      if (!job) return;
      start(job);
    }
  }

  function start(job: Job): void {
    job.state = 'running';
    running++;
    const controller = new AbortController();
    job.controller = controller;
    const wantsPartials = caps.partials && options.interimResults;
    const recognizeOptions: RecognizeOptions = {
      language: options.language,
      sampleRate: rate,
      signal: controller.signal,
      ...(phrases && phrases.length > 0 ? { phrases } : {}),
      ...(previousText ? { previousText } : {}),
      ...(wantsPartials ? { onPartial: (text: string) => onPartial(job, text) } : {}),
    };
    limit(() => (controller.signal.aborted ? Promise.reject(controller.signal.reason) : recognizer.recognize(job.segment.pcm, recognizeOptions)))
      .then(
        (result) => {
          job.result = result;
          if (result.text.trim() !== '') {
            counts.recognized++;
            previousText = result.text;
          }
        },
        (err: unknown) => onFailure(job, err),
      )
      .finally(() => {
        running--;
        job.state = 'done';
        job.controller = undefined;
        if (closed) return;
        deliver();
        pump();
      });
  }

  function onFailure(job: Job, err: unknown): void {
    if (closed) return;
    if (err instanceof EngineError && !err.retryable) {
      // Wrong key, unknown model, refused request: every later utterance would fail the same way.
      job.fatal = err;
      return;
    }
    if (options.failFast) {
      // A fallback engine is waiting: the pipeline replays this utterance rather than lose it.
      job.fatal = err instanceof EngineError ? err : new EngineError(err instanceof Error ? err.message : String(err), 'unavailable', true, { cause: err });
      return;
    }
    // A transient failure (after the recognizer's own retries) loses this utterance only; ending
    // the stream would make the pipeline restart it and replay audio into the same outage.
    counts.failed++;
    log.warn({ err, engine: recognizer.name, span: spanOf(job.segment) }, 'utterance not recognized');
  }

  function onPartial(job: Job, text: string): void {
    if (closed || job.state === 'done' || text.trim() === '') return;
    job.partial = text;
    if (jobs[0] === job) showPartial(job);
  }

  function showPartial(job: Job): void {
    if (job.partial === undefined) return;
    const text = job.partial;
    job.partial = undefined;
    job.interimSent = true;
    sink.result({ isFinal: false, text, ...spanOf(job.segment) });
  }

  /** Sends the finished utterances at the head of the queue, in order. */
  function deliver(): void {
    while (!closed && jobs[0]?.state === 'done') {
      const job = jobs.shift()!;
      if (job.fatal) {
        sink.error(job.fatal);
        shutdown();
        return;
      }
      const final = finalOf(job);
      if (final) sink.result(final);
    }
    // Partials of the utterance now at the head go out only now, so utterances never interleave.
    if (!closed && jobs[0]?.state === 'running') showPartial(jobs[0]);
    const delivered = jobs[0]?.seq ?? nextSeq;
    for (let i = flushWaiters.length - 1; i >= 0; i--) {
      const w = flushWaiters[i]!;
      if (w.seq < delivered) {
        flushWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  function finalOf(job: Job): RecognitionResult | undefined {
    const span = spanOf(job.segment);
    const r = job.result;
    if (!r || r.text.trim() === '') {
      // An empty final closes the utterance its interims opened; otherwise there is nothing to say.
      return job.interimSent ? { isFinal: true, text: '', ...span } : undefined;
    }
    const words = r.words && r.words.length > 0 ? placeWords(r.words, job.segment, span, rate, caps.wordTimes) : undefined;
    return {
      isFinal: true,
      text: r.text,
      ...(r.confidence !== undefined ? { confidence: r.confidence } : {}),
      ...span,
      ...(words ? { words } : {}),
      ...(r.language ? { language: r.language } : {}),
    };
  }

  /** Close, or a fatal error: in-flight requests are aborted and nothing is delivered any more. */
  function shutdown(): void {
    if (closed) return;
    closed = true;
    sink.close();
    for (const job of jobs) job.controller?.abort(new EngineError('stream closed', 'internal', false));
    jobs.length = 0;
    for (const w of flushWaiters.splice(0)) w.resolve();
    segmenter.close();
    const lost = counts.failed + counts.dropped + counts.merged > 0;
    log[lost ? 'warn' : 'debug']({ engine: recognizer.name, ...counts, ...segmenter.stats }, 'utterance stream closed');
  }

  const segmenter = createSegmenter(rate, settings.segmenter, onSegment);

  return {
    push(samples) {
      if (!closed) segmenter.push(samples);
    },
    flush() {
      if (closed) return Promise.resolve();
      segmenter.flush();
      if (jobs.length === 0) return Promise.resolve();
      const seq = nextSeq - 1;
      return new Promise<void>((resolve) => flushWaiters.push({ seq, resolve }));
    },
    close() {
      shutdown();
      return Promise.resolve();
    },
  };
}
