/**
 * WebRTC voice-activity detection (libfvad compiled to wasm): one shared wasm module per process,
 * one small detector state per stream. A GMM speech/noise classifier on the 8 kHz band, so it
 * tells voice from line noise and tones far better than an energy gate.
 */
import createFvadModule from '@echogarden/fvad-wasm';

export type VadMode = 0 | 1 | 2 | 3;

/** Frame lengths libfvad accepts. */
export const VAD_FRAME_MS = [10, 20, 30] as const;

// Loaded once, when the first utterance engine is imported (engines are imported only when configured).
const fvad = await createFvadModule();
/** Scratch for one frame (30 ms at 48 kHz at most): JavaScript is single-threaded, so one suffices. */
const SCRATCH_SAMPLES = 1440;
const scratch = fvad._malloc(SCRATCH_SAMPLES * 2);

export interface VoiceDetector {
  /** Whether `frame` (10, 20 or 30 ms of the detector's rate) holds speech. */
  isSpeech(frame: Int16Array): boolean;
  /** Frees the detector's wasm memory; it must not be used afterwards. */
  free(): void;
}

export function createVoiceDetector(sampleRate: number, mode: VadMode): VoiceDetector {
  const instance = fvad._fvad_new();
  if (instance === 0) throw new Error('voice detector: out of wasm memory');
  if (fvad._fvad_set_sample_rate(instance, sampleRate) !== 0) {
    fvad._fvad_free(instance);
    throw new Error(`voice detector: unsupported sample rate ${sampleRate} (8000, 16000, 32000 or 48000)`);
  }
  fvad._fvad_set_mode(instance, mode);
  let freed = false;
  return {
    isSpeech(frame) {
      if (freed || frame.length > SCRATCH_SAMPLES) return false;
      fvad.HEAP16.set(frame, scratch >> 1);
      const verdict = fvad._fvad_process(instance, scratch, frame.length);
      if (verdict < 0) throw new Error(`voice detector: invalid frame of ${frame.length} samples`);
      return verdict === 1;
    },
    free() {
      if (freed) return;
      freed = true;
      fvad._fvad_free(instance);
    },
  };
}
