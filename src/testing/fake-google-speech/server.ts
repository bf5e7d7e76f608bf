/**
 * A fake Google Speech-to-Text v2 gRPC service (StreamingRecognize only) that behaves as the real
 * one does where our engine can tell: the same request validation and status codes, the stream
 * limits, the result fields (lower-case language code, chirp's zero confidence, Duration offsets
 * from the first audio byte of the call). Speech is "recognized" by recognizer.ts. Tests and the
 * benchmark run the real @google-cloud/speech client against it with insecure credentials.
 */
import { endianness } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { decodeMulaw } from '../../audio/mulaw.js';
import {
  DEFAULT_MESSAGES, MAX_CHUNK_BYTES, MESSAGES, callSettings, duration, loadSpeechService, toResult, validateFirstRequest,
  type DecodedRequest, type DecodedStreamingConfig,
} from './protocol.js';
import { createRecognizer, type RecognizerEvent } from './recognizer.js';

export type { DecodedStreamingConfig } from './protocol.js';

const HALF_CLOSE_GRACE_MS = 10;
const LITTLE_ENDIAN = endianness() === 'LE';

export interface FakeGoogleSpeechOptions {
  port?: number;
  /** When set, recognizers of other locations are rejected as the regional endpoints do. */
  location?: string;
  /** Audio per call before OUT_OF_RANGE; default 305 s. */
  streamLimitSeconds?: number;
  /** Wall-clock time without a request before OUT_OF_RANGE; default 10 s. */
  audioTimeoutSeconds?: number;
  /** Silence that ends an utterance; default 500 ms. */
  endpointMs?: number;
  /** Delay before each response (and the final status) is sent. */
  responseDelayMs?: number;
}

export interface FakeStatus {
  code: grpc.status;
  message?: string;
}

export interface FakeFault extends FakeStatus {
  /** Audio received before the call fails; 0 = on the first request. */
  afterAudioMs?: number;
  /**
   * Instead of failing, the call stalls there: it takes audio but answers nothing and never ends
   * by itself (a hung vendor; the client has to give up on it). The status is then unused.
   */
  stall?: boolean;
}

export interface FakeCallRecord {
  peer: string;
  recognizer: string | undefined;
  /** The decoded `streaming_config` of the first request (proto-loader camelCase). */
  config: DecodedStreamingConfig | undefined;
  audioBytes: number;
  chunks: number;
  maxChunkBytes: number;
  /** 'ok', 'cancelled' or the gRPC status name; null while open. */
  ended: string | null;
  open: boolean;
  results: number;
}

export interface FakeGoogleSpeech {
  readonly address: string;
  readonly port: number;
  readonly calls: readonly FakeCallRecord[];
  readonly activeCalls: number;
  /** Distinct client peers (one per HTTP/2 connection). */
  readonly connections: number;
  failNextStreams(n: number, fault: FakeFault): void;
  rejectAll(status: FakeStatus | null): void;
  close(): Promise<void>;
}

export async function startFakeGoogleSpeech(options: FakeGoogleSpeechOptions = {}): Promise<FakeGoogleSpeech> {
  const streamLimitMs = (options.streamLimitSeconds ?? 305) * 1000;
  const audioTimeoutMs = (options.audioTimeoutSeconds ?? 10) * 1000;
  const delayMs = options.responseDelayMs ?? 0;
  const calls: FakeCallRecord[] = [];
  const peers = new Set<string>();
  const faults: FakeFault[] = [];
  const cleanups = new Set<() => void>();
  let rejection: FakeStatus | null = null;
  let active = 0;

  function streamingRecognize(call: grpc.ServerDuplexStream<DecodedRequest, object>): void {
    const peer = call.getPeer();
    peers.add(peer);
    const record: FakeCallRecord = {
      peer, recognizer: undefined, config: undefined, audioBytes: 0, chunks: 0, maxChunkBytes: 0, ended: null, open: true, results: 0,
    };
    calls.push(record);
    active++;
    const timers = new Set<NodeJS.Timeout>();
    let lastSendAt = 0;
    let done = false;
    let idle: NodeJS.Timeout | undefined;

    const cleanup = (): void => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      clearTimeout(idle);
      if (record.open) active--;
      record.open = false;
      cleanups.delete(cleanup);
    };
    cleanups.add(cleanup);
    /** Runs `fn` after the response delay, keeping responses and the final status in order. */
    const schedule = (fn: () => void): void => {
      if (delayMs <= 0) return fn();
      const at = Math.max(Date.now() + delayMs, lastSendAt);
      lastSendAt = at;
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, at - Date.now());
      timers.add(t);
    };
    const finish = (status: FakeStatus): void => {
      if (done) return;
      done = true;
      clearTimeout(idle);
      record.ended = status.code === grpc.status.OK ? 'ok' : grpc.status[status.code];
      schedule(() => {
        if (status.code === grpc.status.OK) call.end();
        else call.emit('error', { code: status.code, details: status.message ?? DEFAULT_MESSAGES[status.code] ?? `Injected ${grpc.status[status.code]}` });
        cleanup();
      });
    };
    call.on('cancelled', () => {
      if (!done) record.ended = 'cancelled';
      done = true;
      cleanup();
    });
    call.on('error', () => cleanup());

    if (rejection) return finish(rejection);
    const fault = faults.shift();
    const failAtMs = fault?.afterAudioMs ?? Infinity;

    // Set up by the first request.
    let push: ((bytes: Buffer) => RecognizerEvent[]) | undefined;
    let finishRecognizer: (() => RecognizerEvent[]) | undefined;
    let bytesPerSecond = 16_000;
    let respond: (events: RecognizerEvent[]) => void = () => {};

    const resetIdle = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => finish({ code: grpc.status.OUT_OF_RANGE, message: MESSAGES.audioTimeout }), audioTimeoutMs);
    };
    resetIdle();

    const onFirst = (req: DecodedRequest): void => {
      const problem = validateFirstRequest(req, options.location);
      record.recognizer = req.recognizer;
      record.config = req.streamingConfig;
      if (problem) return finish({ code: grpc.status.INVALID_ARGUMENT, message: problem });
      const settings = callSettings(req.streamingConfig);
      bytesPerSecond = settings.sampleRate * (settings.encoding === 'MULAW' ? 1 : 2);
      const recognizer = createRecognizer({ sampleRate: settings.sampleRate, endpointMs: options.endpointMs, interim: settings.interim });
      let carry: Buffer | undefined; // odd byte of a LINEAR16 sample split across chunks
      push = (bytes) => {
        if (settings.encoding === 'MULAW') return recognizer.push(decodeMulaw(bytes));
        const all = carry ? Buffer.concat([carry, bytes]) : bytes;
        const even = all.length & ~1;
        carry = even < all.length ? all.subarray(even) : undefined;
        // The recognizer copies what it is given, so an aligned view will do (little-endian hosts).
        if (LITTLE_ENDIAN && (all.byteOffset & 1) === 0) return recognizer.push(new Int16Array(all.buffer, all.byteOffset, even / 2));
        const samples = new Int16Array(even / 2);
        for (let i = 0; i < samples.length; i++) samples[i] = all.readInt16LE(i * 2);
        return recognizer.push(samples);
      };
      finishRecognizer = () => recognizer.finish();
      respond = (events) => {
        for (const ev of events) {
          if (ev.kind === 'speech-begin' || ev.kind === 'speech-end') {
            if (!settings.voiceActivityEvents) continue;
            const speechEventType = ev.kind === 'speech-begin' ? 'SPEECH_ACTIVITY_BEGIN' : 'SPEECH_ACTIVITY_END';
            schedule(() => call.write({ results: [], speechEventType, speechEventOffset: duration(ev.atMs) }));
            continue;
          }
          const result = toResult(ev as Extract<RecognizerEvent, { kind: 'interim' | 'final' }>, settings);
          record.results++;
          schedule(() => call.write({ results: [result] }));
        }
      };
    };

    const onAudio = (audio: Buffer): void => {
      record.chunks++;
      record.maxChunkBytes = Math.max(record.maxChunkBytes, audio.length);
      if (audio.length > MAX_CHUNK_BYTES) {
        return finish({ code: grpc.status.INVALID_ARGUMENT, message: MESSAGES.chunkTooLarge(audio.length) });
      }
      // The real limit is wall-clock time; counting audio lets tests stream faster than real time.
      const limitBytes = Math.floor((streamLimitMs * bytesPerSecond) / 1000);
      const faultBytes = fault ? Math.ceil((failAtMs * bytesPerSecond) / 1000) : Infinity;
      const total = record.audioBytes + audio.length;
      let stop: { at: number; status: FakeStatus } | undefined;
      if (total > limitBytes) {
        stop = { at: limitBytes, status: { code: grpc.status.OUT_OF_RANGE, message: MESSAGES.streamLimit(streamLimitMs / 1000) } };
      }
      if (stalled) {
        record.audioBytes += audio.length;
        return;
      }
      if (fault?.stall && total >= faultBytes) {
        // Audio before the stall point is still recognized; nothing after it, and no end.
        const before = audio.subarray(0, Math.max(0, faultBytes - record.audioBytes));
        record.audioBytes += audio.length;
        if (before.length > 0 && push) respond(push(before));
        stalled = true;
        clearTimeout(idle);
        return;
      }
      if (fault && total >= faultBytes && faultBytes <= (stop?.at ?? Infinity)) stop = { at: faultBytes, status: fault };
      // Audio up to the stop point is still recognized (its results precede the error).
      const accepted = stop ? audio.subarray(0, Math.max(0, stop.at - record.audioBytes)) : audio;
      record.audioBytes += accepted.length;
      if (accepted.length > 0 && push) respond(push(accepted));
      if (stop) finish(stop.status);
    };

    let first = true;
    let stalled = false;
    call.on('data', (req: DecodedRequest) => {
      if (done) return;
      if (!stalled) resetIdle();
      if (first) {
        first = false;
        if (fault && failAtMs <= 0) {
          if (!fault.stall) return finish(fault);
          stalled = true;
          clearTimeout(idle);
          return;
        }
        return onFirst(req);
      }
      if (req.streamingConfig || req.recognizer) {
        return finish({ code: grpc.status.INVALID_ARGUMENT, message: MESSAGES.configAgain });
      }
      onAudio(req.audio ?? Buffer.alloc(0));
    });
    call.on('end', () => {
      if (stalled) return; // hung: not even a half-close gets an answer
      // The SDK's cancel() half-closes and then resets the stream, so a half-close may be a
      // cancel about to arrive: finalize only after a short grace (the real service takes longer).
      clearTimeout(idle);
      const t = setTimeout(() => {
        timers.delete(t);
        if (done || call.cancelled) return;
        if (finishRecognizer) respond(finishRecognizer());
        finish({ code: grpc.status.OK });
      }, HALF_CLOSE_GRACE_MS);
      timers.add(t);
    });
  }

  const server = new grpc.Server();
  server.addService(loadSpeechService(), { StreamingRecognize: streamingRecognize as grpc.handleBidiStreamingCall<DecodedRequest, object> });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });

  return {
    address: `127.0.0.1:${port}`,
    port,
    calls,
    get activeCalls() {
      return active;
    },
    get connections() {
      return peers.size;
    },
    failNextStreams(n, fault) {
      for (let i = 0; i < n; i++) faults.push(fault);
    },
    rejectAll(status) {
      rejection = status;
    },
    close() {
      for (const c of [...cleanups]) c();
      for (const c of calls) if (c.ended === null) c.ended = 'cancelled';
      return new Promise((resolve) => {
        server.forceShutdown();
        setImmediate(resolve);
      });
    },
  };
}
