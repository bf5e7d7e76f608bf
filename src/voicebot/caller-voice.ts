/**
 * Is the caller speaking, and for how long? A WebRTC VAD (the same libfvad the utterance engines
 * use) on the caller's µ-law audio, in 20 ms frames, with an energy floor so line hiss is never
 * speech. It drives barge-in (speech of ≥ softMs stops the bot's audio, ≥ confirmMs commits the
 * interruption) and tells when the caller stopped (the no-input timer, the turn latency's start).
 * The engine recognizes the words; this only has to be fast, and the same for every engine.
 */
import { MULAW_TO_PCM16 } from '../audio/mulaw.js';
import { createVoiceDetector, type VoiceDetector } from '../engines/kit/vad.js';

const FRAME = 160; // 20 ms at 8 kHz
const FRAME_MS = 20;
/** Silence inside a run of speech that does not end it (between syllables, a stop consonant). */
const HANGOVER_MS = 160;
/** Mean square below −50 dBFS is never speech. */
const ENERGY_FLOOR = 32768 * 32768 * 1e-5;

export interface CallerVoiceEvents {
  /** A run of speech reached `ms` (called as it crosses each threshold given). */
  onSpeech(runMs: number): void;
  /** The run ended; `endedAt` is the wall time its last voiced frame arrived. */
  onSilence(runMs: number, endedAt: number): void;
}

export class CallerVoice {
  private readonly vad: VoiceDetector;
  private readonly pcm = new Int16Array(FRAME);
  private filled = 0;
  private runMs = 0;
  private silentMs = 0;
  private lastVoicedAt = 0;
  private crossed = 0;

  /** `thresholds`: run lengths (ms, ascending) at which onSpeech is called. */
  constructor(
    private readonly thresholds: readonly number[],
    private readonly events: CallerVoiceEvents,
  ) {
    this.vad = createVoiceDetector(8000, 2);
  }

  get speaking(): boolean {
    return this.runMs > 0;
  }

  /**
   * One frame of call audio as it arrived (`arrivedAt`: wall clock, ms): the caller is channel 0
   * (Audio Connector offers the external channel alone).
   */
  pushFrame(frame: Uint8Array, format: 'PCMU' | 'L16', channelCount: number, arrivedAt: number): void {
    const step = format === 'PCMU' ? channelCount : channelCount * 2;
    const samples = Math.floor(frame.length / step);
    for (let s = 0; s < samples; s++) {
      const at = s * step;
      this.pcm[this.filled++] = format === 'PCMU' ? MULAW_TO_PCM16[frame[at]!]! : (((frame[at + 1]! << 8) | frame[at]!) << 16) >> 16;
      if (this.filled === FRAME) {
        this.filled = 0;
        // The frame's end, in wall time: frames arrive in real time.
        this.frame(arrivedAt - ((samples - 1 - s) * 1000) / 8000);
      }
    }
  }

  /** Forgets the run in progress (a pause: what follows is a new stretch of audio). */
  reset(): void {
    this.runMs = 0;
    this.silentMs = 0;
    this.crossed = 0;
    this.filled = 0;
  }

  free(): void {
    this.vad.free();
  }

  private frame(endAt: number): void {
    let energy = 0;
    for (let i = 0; i < FRAME; i++) energy += this.pcm[i]! * this.pcm[i]!;
    const voiced = energy / FRAME > ENERGY_FLOOR && this.vad.isSpeech(this.pcm);
    if (voiced) {
      this.runMs += FRAME_MS + (this.runMs > 0 ? this.silentMs : 0);
      this.silentMs = 0;
      this.lastVoicedAt = endAt;
      while (this.crossed < this.thresholds.length && this.runMs >= this.thresholds[this.crossed]!) {
        this.crossed += 1;
        this.events.onSpeech(this.runMs);
      }
      return;
    }
    if (this.runMs === 0) return;
    this.silentMs += FRAME_MS;
    if (this.silentMs > HANGOVER_MS) {
      const run = this.runMs;
      this.reset();
      this.events.onSilence(run, this.lastVoicedAt);
    }
  }
}
