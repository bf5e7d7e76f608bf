/**
 * One engine stream on Google Speech v2: a gRPC `StreamingRecognize` call per stretch of audio.
 * The call opens at the first push, is half-closed by `flush()` (pause, close) or after a few
 * seconds without audio (Google aborts a call that gets none for ~10 s), and the next push opens
 * a fresh one: times stay relative to this engine stream through each call's base.
 *
 * A failure is reported once, as an EngineError; restarting and replaying audio is the channel
 * pipeline's job, never this file's.
 */
import type { Duplex } from 'node:stream';
import type { EngineStream, EngineStreamOptions } from '../types.js';
import { EngineError } from '../types.js';
import { engineErrorFrom, mapResponse, type SpeechResponse } from './map.js';
import type { Lease } from './pool.js';

/** Audio is sent in pieces of at least 100 ms (fewer gRPC messages)… */
const MIN_CHUNK_MS = 100;
/** …and at most 15,360 bytes, Google's limit for one request. */
const MAX_CHUNK_BYTES = 15_360;
/** A call that got no audio this long is finalized and ended before Google's ~10 s audio timeout. */
export const IDLE_END_MS = 5_000;
/** How often open calls are checked for idleness. */
const IDLE_CHECK_MS = 1_000;
/** Audio the connection has not taken yet; past this the call counts as stalled. */
const MAX_UNSENT_MS = 30_000;
/**
 * Silence is reported settled only for audio sent at least this long ago (wall clock): Google has
 * processed it by then, so had it held speech, its speech-begin event would have come. Counting
 * audio time instead would be wrong whenever Google runs behind the audio sent.
 */
const SETTLE_AFTER_MS = 3_000;
/** A speech end whose final never comes (noise without words) stops blocking after this long. */
const FINAL_WAIT_MS = 5_000;
/** A half-closed call Google has not ended by then is given up (its audio is replayed elsewhere). */
const FINISH_TIMEOUT_MS = 10_000;

/** What one call needs from the engine: a client slot and the first request, built per stream. */
export interface GoogleCallContext {
  acquire(): Lease<{ _streamingRecognize(): Duplex }>;
  firstRequest(options: EngineStreamOptions): object;
  defaultConfidence: number;
  project: string;
  /** Overrides IDLE_END_MS (tests). */
  idleEndMs?: number;
  /** Overrides SETTLE_AFTER_MS (tests). */
  settleAfterMs?: number;
  /**
   * Shared by the engine's streams: Google has sent voice activity events for this model. Once
   * it has, a new call's silence before its first event can be settled too (a channel silent
   * past the 30 s replay must not count its silence as audio a replacement could not get).
   */
  voiceEvents?: { seen: boolean };
}

interface Call {
  duplex: Duplex;
  lease: Lease<unknown>;
  times: { baseMs: number; lastFinalEndMs: number };
  halfClosed: boolean;
  settled: boolean;
  /** Voice activity: speech began and has not ended; or ended at this stream sample with its final not in yet. */
  speaking: boolean;
  speechEndedAt: number | undefined;
  /** Google sent voice activity events on this call: only then is "not speaking" known. */
  voiceEvents: boolean;
  done: Promise<void>;
  settle(): void;
}

export function openGoogleStream(ctx: GoogleCallContext, options: EngineStreamOptions): EngineStream {
  const rate = options.sampleRate;
  const minChunk = Math.round((rate * MIN_CHUNK_MS) / 1000);
  const maxChunk = MAX_CHUNK_BYTES / 2;
  const maxUnsentMessages = MAX_UNSENT_MS / MIN_CHUNK_MS;
  const pending = new Int16Array(maxChunk);
  let pendingLength = 0;
  let samples = 0;
  let current: Call | undefined;
  const calls = new Set<Call>();
  let closed = false;
  let failed = false;
  let lastAudioAt = 0;

  function fail(error: EngineError): void {
    if (closed || failed) return;
    failed = true;
    for (const c of calls) endCall(c, true);
    try {
      options.onError(error);
    } catch (err) {
      options.log.error({ err }, 'google: onError handler threw');
    }
  }

  function openCall(): Call {
    const lease = ctx.acquire();
    const duplex = lease.client._streamingRecognize();
    let settle!: () => void;
    const done = new Promise<void>((resolve) => (settle = resolve));
    const call: Call = {
      duplex,
      lease,
      times: { baseMs: (samples * 1000) / rate, lastFinalEndMs: 0 },
      halfClosed: false,
      settled: false,
      speaking: false,
      speechEndedAt: undefined,
      voiceEvents: false,
      done,
      settle,
    };
    calls.add(call);
    duplex.on('data', (response: SpeechResponse) => {
      if (closed || failed) return;
      if (response.speechEventType === 'SPEECH_ACTIVITY_BEGIN') {
        call.voiceEvents = true;
        if (ctx.voiceEvents) ctx.voiceEvents.seen = true;
        call.speaking = true;
      } else if (response.speechEventType === 'SPEECH_ACTIVITY_END') {
        call.voiceEvents = true;
        call.speaking = false;
        call.speechEndedAt = Date.now();
      }
      if (response.results?.some((r) => r.isFinal)) call.speechEndedAt = undefined;
      for (const result of mapResponse(response, call.times, ctx.defaultConfidence)) {
        try {
          options.onResult(result);
        } catch (err) {
          options.log.error({ err }, 'google: onResult threw');
        }
      }
    });
    duplex.on('error', (err: { code?: unknown; details?: unknown; message?: unknown }) => {
      const wasOurs = call.settled || closed;
      endCall(call, false);
      if (!wasOurs) fail(engineErrorFrom(err, ctx.project));
    });
    duplex.on('end', () => {
      const unexpected = !call.halfClosed && !call.settled && !closed;
      endCall(call, false);
      // Google ended the call while we were still sending: a drop, whatever the status said.
      if (unexpected) fail(new EngineError('Google Speech ended the stream unexpectedly', 'unavailable', true));
    });
    duplex.write(ctx.firstRequest(options));
    sweeper.add(checkIdle);
    return call;
  }

  /** Releases a call's slot; `cancel` also stops it at Google (close, failure). */
  function endCall(call: Call, cancel: boolean): void {
    if (call.settled) return;
    call.settled = true;
    calls.delete(call);
    if (current === call) current = undefined;
    if (calls.size === 0) sweeper.delete(checkIdle);
    call.lease.release();
    if (cancel) {
      call.duplex.on('error', () => {}); // the cancellation itself surfaces as CANCELLED
      (call.duplex as Duplex & { cancel?: () => void }).cancel?.();
      call.duplex.destroy();
    }
    call.settle();
  }

  function sendPending(): void {
    if (pendingLength === 0) return;
    const audio = Buffer.from(pending.buffer, pending.byteOffset, pendingLength * 2);
    pendingLength = 0;
    writeAudio(audio);
  }

  /** `audio` is a view of memory the caller reuses: it is copied once, here. */
  function writeAudio(audio: Buffer): void {
    if (!current) return;
    const duplex = current.duplex;
    duplex.write({ audio: Buffer.from(audio) });
    // The SDK's stream is in object mode: its writableLength counts queued messages.
    if (duplex.writableLength > maxUnsentMessages) {
      fail(new EngineError('Google Speech is not taking audio (stream stalled)', 'unavailable', true));
    }
  }

  /** Half-closes the current call: Google finalizes what it has and ends the call. */
  function halfClose(): Promise<void> {
    const call = current;
    if (!call) return Promise.resolve();
    sendPending();
    call.halfClosed = true;
    current = undefined;
    call.duplex.end();
    const timer = setTimeout(() => {
      if (call.settled || closed) return;
      endCall(call, true);
      fail(new EngineError('Google Speech did not finish the stream in time', 'unavailable', true));
    }, FINISH_TIMEOUT_MS);
    timer.unref();
    void call.done.then(() => clearTimeout(timer));
    return call.done;
  }

  let settledTo = 0;
  /** [wall-clock ms, samples pushed by then] per push, oldest first, within the last SETTLE_AFTER_MS. */
  const sent: number[] = [];
  let sentHead = 0;

  /** Says the silence sent long enough ago needs no replay (at most once a second of audio). */
  function reportSettled(call: Call, now: number): void {
    if (!options.onSettled) return;
    sent.push(now, samples);
    const cutoff = now - (ctx.settleAfterMs ?? SETTLE_AFTER_MS);
    let until = -1;
    while (sentHead < sent.length && sent[sentHead]! <= cutoff) {
      until = sent[sentHead + 1]!;
      sentHead += 2;
    }
    if (sentHead > 256) {
      sent.splice(0, sentHead);
      sentHead = 0;
    }
    if (until < 0 || until - settledTo < rate || !(call.voiceEvents || ctx.voiceEvents?.seen) || call.speaking) return;
    if (call.speechEndedAt !== undefined && now - call.speechEndedAt < FINAL_WAIT_MS) return;
    settledTo = until;
    options.onSettled((until * 1000) / rate);
  }

  function checkIdle(now: number): void {
    if (current && !closed && now - lastAudioAt >= (ctx.idleEndMs ?? IDLE_END_MS)) void halfClose();
  }

  return {
    push(pcm: Int16Array): void {
      if (closed || failed) return;
      lastAudioAt = sweeper.now();
      current ??= openCall();
      // Whole frames of 100 ms or more (Genesys sends 200 ms) go out as they are: one copy.
      if (pendingLength === 0 && pcm.length >= minChunk && pcm.length <= maxChunk) {
        samples += pcm.length;
        writeAudio(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
        if (current) reportSettled(current, lastAudioAt);
        return;
      }
      for (let i = 0; i < pcm.length; ) {
        const n = Math.min(pcm.length - i, maxChunk - pendingLength);
        pending.set(pcm.subarray(i, i + n), pendingLength);
        pendingLength += n;
        i += n;
        samples += n;
        if (pendingLength >= maxChunk) sendPending();
      }
      if (pendingLength >= minChunk) sendPending();
      if (current) reportSettled(current, lastAudioAt);
    },

    async flush(): Promise<void> {
      if (closed || failed) return;
      await halfClose();
      // Calls ended earlier for idleness may still be delivering their finals.
      await Promise.all([...calls].map((c) => c.done));
    },

    close(): Promise<void> {
      if (!closed) {
        closed = true;
        pendingLength = 0;
        for (const c of calls) endCall(c, true);
        sweeper.delete(checkIdle);
      }
      return Promise.resolve();
    },
  };
}

/**
 * One process-wide timer checks every open call for idleness: a timer per stream, re-armed on
 * every frame, would cost thousands of timer updates a second.
 */
const sweeper = (() => {
  const checks = new Set<(now: number) => void>();
  let timer: NodeJS.Timeout | undefined;
  return {
    now: () => Date.now(),
    add(check: (now: number) => void) {
      checks.add(check);
      if (!timer) {
        timer = setInterval(() => {
          const now = Date.now();
          for (const c of checks) c(now);
        }, IDLE_CHECK_MS);
        timer.unref();
      }
    },
    delete(check: (now: number) => void) {
      checks.delete(check);
      if (checks.size === 0 && timer) {
        clearInterval(timer);
        timer = undefined;
      }
    },
  };
})();
