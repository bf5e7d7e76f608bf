/**
 * The utterance buffer: cuts a stream of PCM16 into utterances with a WebRTC VAD, for recognizers
 * that take whole utterances. A segment's start and end sit on the detected speech; the audio
 * sent carries some pre-roll (and post-roll) so that soft word edges reach the recognizer.
 *
 * Audio stays in memory (call audio is personal data): while silent only the pre-roll is kept;
 * during speech the buffer grows up to the maximum utterance, where the utterance is split at the
 * quietest moment of its last seconds. Everything is stamped with this stream's sample index,
 * never the wall clock.
 */
import { SEGMENTER_DEFAULTS, type SegmenterOptions } from './options.js';
import { createVoiceDetector } from './vad.js';

export { SEGMENTER_DEFAULTS, type SegmenterOptions };

export interface Segment {
  /** Speech span, in samples of this stream (sample 0 = the first sample pushed). */
  startSample: number;
  endSample: number;
  /** Stream sample of `pcm[0]` (at most the pre-roll before `startSample`). */
  pcmStartSample: number;
  /** A copy: owned by the receiver. */
  pcm: Int16Array;
}

export interface SegmenterStats {
  segments: number;
  /** Speech shorter than the minimum utterance, discarded. */
  tooShort: number;
  /** Utterances cut at the maximum length. */
  splits: number;
}

export interface Segmenter {
  /** Copies what it keeps; `samples` may be reused by the caller afterwards. */
  push(samples: Int16Array): void;
  /** Ends the utterance in progress now (its segment is emitted before this returns). */
  flush(): void;
  close(): void;
  readonly stats: Readonly<SegmenterStats>;
}

const FRAME_MS = 20;
/**
 * A voiced frame must also stand this far above the line's noise floor (energy ratio, 9 dB). The
 * VAD holds its verdict for a few frames after speech ("hangover"), which would put utterance
 * ends late and let a short burst of noise bridge two utterances; the floor check removes that.
 */
const FLOOR_MARGIN = 10 ** (9 / 10);
/** The floor follows a rising noise level at ~3 dB/s (per 20 ms frame), and drops at once. */
const FLOOR_RISE = 10 ** (0.3 / (1000 / FRAME_MS));
/** Lowest floor (−70 dBFS), so digital silence does not pin the floor at zero. */
const FLOOR_MIN = 32768 * 32768 * 10 ** (-70 / 10);
/** Where a long utterance may be split: its last seconds. */
const SPLIT_SEARCH_MS = 3000;

export function createSegmenter(
  sampleRate: number,
  options: SegmenterOptions,
  onSegment: (segment: Segment) => void,
): Segmenter {
  const o = { ...SEGMENTER_DEFAULTS, ...options };
  const samplesOf = (ms: number) => Math.round((ms * sampleRate) / 1000);
  const frame = samplesOf(FRAME_MS);
  const onsetFrames = Math.max(1, Math.round(o.onsetMs / FRAME_MS));
  const endSilenceFrames = Math.max(1, Math.round(o.endSilenceMs / FRAME_MS));
  const preRoll = samplesOf(o.preRollMs);
  const postRoll = Math.min(samplesOf(o.postRollMs), endSilenceFrames * frame);
  const skipStart = samplesOf(o.skipStartMs);
  const minSpeech = samplesOf(o.minUtteranceMs);
  const maxSpeech = Math.max(samplesOf(o.maxUtteranceMs), 4 * frame);
  const searchFrames = Math.max(1, Math.min(Math.round(SPLIT_SEARCH_MS / FRAME_MS), Math.floor(maxSpeech / frame / 2)));
  /** Audio kept while silent: the pre-roll plus the onset run. */
  const idleKeep = preRoll + (onsetFrames + 1) * frame;

  const vad = createVoiceDetector(sampleRate, o.vadMode);
  const stats: SegmenterStats = { segments: 0, tooShort: 0, splits: 0 };
  // Per-frame energy and verdict of the last frames (a ring indexed by absolute frame number),
  // enough to look back over a whole maximum-length utterance when splitting it.
  const ringSize = Math.ceil((maxSpeech + preRoll) / frame) + 4;
  const energy = new Float64Array(ringSize);
  const voiced = new Uint8Array(ringSize);

  const initialSize = Math.max(idleKeep * 2 + frame, sampleRate);
  let buf = new Int16Array(initialSize);
  let bufStart = 0; // stream sample of buf[0]
  let bufLen = 0;
  let nextFrame = 0; // stream sample where the next unclassified frame starts
  let closed = false;
  let floor = FLOOR_MIN;

  let inSpeech = false;
  let run = 0; // voiced frames in a row (idle) / unvoiced frames in a row (in speech)
  let runStart = 0;
  let speechStart = 0;
  let speechEnd = 0; // end of the last voiced frame

  function append(samples: Int16Array): void {
    if (bufLen + samples.length > buf.length) {
      const grown = new Int16Array(Math.max(buf.length * 2, bufLen + samples.length));
      grown.set(buf.subarray(0, bufLen));
      buf = grown;
    }
    buf.set(samples, bufLen);
    bufLen += samples.length;
  }

  /** Drops buffered audio before stream sample `from`. */
  function dropBefore(from: number): void {
    const cut = Math.min(bufLen, Math.max(0, from - bufStart));
    if (cut === 0) return;
    buf.copyWithin(0, cut, bufLen);
    bufLen -= cut;
    bufStart += cut;
  }

  function emit(start: number, end: number, pcmStart: number, pcmEnd: number): void {
    if (end - start < minSpeech) {
      stats.tooShort++;
      return;
    }
    const from = Math.max(bufStart, pcmStart);
    const to = Math.min(bufStart + bufLen, pcmEnd);
    stats.segments++;
    onSegment({ startSample: start, endSample: end, pcmStartSample: from, pcm: buf.slice(from - bufStart, to - bufStart) });
  }

  function endUtterance(): void {
    inSpeech = false;
    run = 0;
    emit(speechStart, speechEnd, speechStart - preRoll, speechEnd + postRoll);
  }

  /** The utterance reached the maximum: cut it where the audio is quietest, keep the rest open. */
  function split(currentFrame: number): void {
    const first = Math.max(Math.ceil((speechStart + minSpeech) / frame), currentFrame - searchFrames);
    let best = currentFrame;
    let bestScore = Infinity;
    for (let k = first; k < currentFrame; k++) {
      // Energy over 60 ms around the frame, so a stop consonant's closure is not taken for a
      // pause; unvoiced frames first.
      const e = (energy[(k - 1) % ringSize] ?? 0) + (energy[k % ringSize] ?? 0) + (energy[(k + 1) % ringSize] ?? 0);
      const score = e * (voiced[k % ringSize] ? 16 : 1);
      if (score < bestScore) {
        bestScore = score;
        best = k;
      }
    }
    const cut = best * frame;
    let lastVoiced = speechStart;
    let firstVoicedAfter = -1;
    let lastVoicedAfter = -1;
    for (let k = Math.floor(speechStart / frame); k <= currentFrame; k++) {
      if (!voiced[k % ringSize]) continue;
      if (k < best) lastVoiced = (k + 1) * frame;
      else {
        if (firstVoicedAfter < 0) firstVoicedAfter = k * frame;
        lastVoicedAfter = (k + 1) * frame;
      }
    }
    stats.splits++;
    emit(speechStart, Math.max(speechStart, Math.min(lastVoiced, cut)), speechStart - preRoll, cut);
    dropBefore(cut);
    if (firstVoicedAfter < 0) {
      inSpeech = false;
      run = 0;
      return;
    }
    speechStart = firstVoicedAfter;
    speechEnd = lastVoicedAfter;
    run = currentFrame + 1 - lastVoicedAfter / frame;
  }

  function classify(): void {
    const k = nextFrame / frame;
    const at = nextFrame - bufStart;
    const samples = buf.subarray(at, at + frame);
    let sum = 0;
    for (let i = 0; i < samples.length; i++) {
      const v = samples[i] as number;
      sum += v * v;
    }
    const meanSquare = sum / frame;
    const speech = vad.isSpeech(samples) && meanSquare > floor * FLOOR_MARGIN && nextFrame + frame > skipStart;
    floor = meanSquare < floor ? Math.max(FLOOR_MIN, meanSquare) : floor * FLOOR_RISE;
    energy[k % ringSize] = meanSquare;
    voiced[k % ringSize] = speech ? 1 : 0;
    const end = nextFrame + frame;
    nextFrame = end;

    if (!inSpeech) {
      if (!speech) {
        run = 0;
        if (bufLen > idleKeep * 2) {
          dropBefore(bufStart + bufLen - idleKeep);
          // Give back what a long utterance grew, so thousands of silent streams stay small.
          if (buf.length > initialSize) buf = buf.slice(0, initialSize);
        }
        return;
      }
      if (run === 0) runStart = end - frame;
      if (++run < onsetFrames) return;
      inSpeech = true;
      speechStart = Math.max(runStart, skipStart);
      speechEnd = end;
      run = 0;
      dropBefore(Math.max(speechStart - preRoll, skipStart));
    } else if (speech) {
      speechEnd = end;
      run = 0;
    } else if (++run >= endSilenceFrames) {
      endUtterance();
      return;
    }
    if (end - speechStart >= maxSpeech) split(k);
  }

  return {
    stats,
    push(samples) {
      if (closed) return;
      // At most a frame at a time, so the buffer never holds more than one frame past a decision.
      for (let i = 0; i < samples.length; i += frame) {
        append(samples.subarray(i, Math.min(samples.length, i + frame)));
        while (bufStart + bufLen - nextFrame >= frame) classify();
      }
    },
    flush() {
      if (closed || !inSpeech) return;
      endUtterance();
    },
    close() {
      if (closed) return;
      closed = true;
      vad.free();
      buf = new Int16Array(0);
      bufLen = 0;
    },
  };
}

/** One segment covering both, the audio between them filled with zeros so that times stay exact. */
export function mergeSegments(a: Segment, b: Segment): Segment {
  const start = a.pcmStartSample;
  const end = Math.max(a.pcmStartSample + a.pcm.length, b.pcmStartSample + b.pcm.length);
  const pcm = new Int16Array(end - start);
  pcm.set(a.pcm, 0);
  // b may overlap a's post-roll with its pre-roll: the same samples, so b's copy simply wins.
  pcm.set(b.pcm, b.pcmStartSample - start);
  return { startSample: a.startSample, endSample: Math.max(a.endSample, b.endSample), pcmStartSample: start, pcm };
}
