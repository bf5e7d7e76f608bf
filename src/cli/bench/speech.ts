/**
 * How much speech the looped call holds, as the server's utterance buffer sees it: the same wire
 * frames the load client sends, decoded as the server decodes them, cut by the same segmenter
 * with the same settings. The real-time factor divides the recognizer's CPU by this.
 */
import { splitChannels } from '../../audio/frames.js';
import { FRAME_SAMPLES, loadWavSource } from '../client/audio-source.js';
import type { SegmenterOptions } from '../../engines/kit/options.js';

export interface LoopSpeech {
  /** One pass of the file as streamed (whole 200 ms frames), seconds. */
  loopSeconds: number;
  /** Utterances per pass, both channels. */
  utterances: number;
  /** Speech (the VAD's spans) per pass, both channels, seconds. */
  speechSeconds: number;
  /** Audio handed to the recognizer per pass (speech plus pre- and post-roll), seconds. */
  recognizedSeconds: number;
}

export async function loopSpeech(wav: string, options: SegmenterOptions): Promise<LoopSpeech> {
  // Loaded here, not at start-up: the VAD's wasm is needed only by the local mode.
  const { createSegmenter } = await import('../../engines/kit/segmenter.js');
  const source = await loadWavSource(wav);
  const frames = source.framesFor({ type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 });
  const loopSamples = frames.length * FRAME_SAMPLES;
  const result: LoopSpeech = { loopSeconds: loopSamples / 8000, utterances: 0, speechSeconds: 0, recognizedSeconds: 0 };
  for (const channel of [0, 1]) {
    // Three passes; the segments that end in the second one are those of a pass in steady state.
    const segmenter = createSegmenter(8000, options, (s) => {
      if (s.endSample < loopSamples || s.endSample >= 2 * loopSamples) return;
      result.utterances += 1;
      result.speechSeconds += (s.endSample - s.startSample) / 8000;
      result.recognizedSeconds += s.pcm.length / 8000;
    });
    for (let pass = 0; pass < 3; pass++) {
      for (const frame of frames) segmenter.push(splitChannels(frame, 'PCMU', 2)[channel] as Int16Array);
    }
    segmenter.close();
  }
  return result;
}
