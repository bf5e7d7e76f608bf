/**
 * End of speech → final transcript, as the client sees it, with the recognizer's own endpointing
 * wait left out (the vendor's, or for the utterance engines our VAD's end-of-utterance silence).
 * A recognizer can only call an utterance over once it has heard `endpointMs` of silence after
 * the speech, so for each final (offset + duration = end of speech E on the stream timeline)
 * the latency is
 *
 *   (time the final arrived here) − (time this client sent the frame holding stream position N),
 *   N = E rounded up to the recognizers' 20 ms analysis block + endpointMs.
 *
 * That includes our server's ingress, the engine's round trip (the gRPC or HTTP hop to the vendor
 * and back, or the offline decoding) and the event's way back over the WebSocket; it excludes the
 * endpointing wait. A final
 * that arrives before that frame was sent (forced at the utterance length limit, flushed at close)
 * or whose frame is no longer known is counted as unmatched, not measured.
 */
import { FRAME_SECONDS } from './audio-source.js';

/** The simulated engine, the fake Speech service and our VAD all decide speech/silence per 20 ms block. */
export const ANALYSIS_BLOCK_MS = 20;
/** Send times kept per session: 256 frames = 51 s, far more than any latency worth measuring. */
const RING = 256;
/** Latencies kept per session (a uniform sample past this): bounded memory on long runs. */
const MAX_SAMPLES = 200;

export interface LatencyProbe {
  /** Frame `index` (stream position index × 200 ms) left the client at `at` (performance.now()). */
  frameSent(index: number, at: number): void;
  /** A final ending at `endSeconds` (stream timeline) arrived at `at`. */
  final(endSeconds: number, at: number): void;
  /** Sampled latencies, ms. */
  readonly samples: readonly number[];
  readonly unmatched: number;
}

/**
 * Process-wide: sees every measured latency with its arrival time (performance.now()). The bench's
 * load client uses it to keep only the finals of its measuring window and to see a trend; sessions
 * do not need to know about it.
 */
let observer: ((latencyMs: number, at: number) => void) | undefined;
export function observeLatencies(fn: ((latencyMs: number, at: number) => void) | undefined): void {
  observer = fn;
}

export function createLatencyProbe(endpointMs: number, frameMs = FRAME_SECONDS * 1000): LatencyProbe {
  const sentAt = new Float64Array(RING);
  const sentIndex = new Int32Array(RING).fill(-1);
  const samples: number[] = [];
  let seen = 0;
  let unmatched = 0;
  let lastSent = -1;
  return {
    frameSent(index, at) {
      sentAt[index % RING] = at;
      sentIndex[index % RING] = index;
      lastSent = index;
    },
    final(endSeconds, at) {
      // 0.01 ms slack: "PT1.24S" parses to 1239.9999… ms or 1240.0000…1 ms.
      const endMs = Math.ceil((endSeconds * 1000 - 0.01) / ANALYSIS_BLOCK_MS) * ANALYSIS_BLOCK_MS;
      const needed = Math.max(0, Math.ceil((endMs + endpointMs) / frameMs) - 1);
      if (needed > lastSent || sentIndex[needed % RING] !== needed) {
        unmatched += 1;
        return;
      }
      const latency = at - (sentAt[needed % RING] as number);
      observer?.(latency, at);
      seen += 1;
      if (samples.length < MAX_SAMPLES) samples.push(latency);
      else {
        // Reservoir sampling: every final has the same chance to be kept.
        const j = Math.floor(Math.random() * seen);
        if (j < MAX_SAMPLES) samples[j] = latency;
      }
    },
    samples,
    get unmatched() {
      return unmatched;
    },
  };
}
