/**
 * The audio a simulated call streams: a WAV file brought to 8 kHz per-channel PCM16 once, then cut
 * into pre-encoded 200 ms wire frames per selected media. Frames are built once per media and the
 * same Buffers are shared by every session (load mode runs thousands of sessions off one file).
 */
import { readFile } from 'node:fs/promises';
import { interleave, splitChannels } from '../../audio/frames.js';
import { parseWav, resampleLinear } from '../../audio/wav.js';
import { SAMPLE_RATE } from '../../protocol/media.js';
import type { MediaChannel, MediaOffer } from '../../protocol/messages.js';

/** The Genesys tools send 200 ms frames. */
export const FRAME_SECONDS = 0.2;
export const FRAME_SAMPLES = SAMPLE_RATE * FRAME_SECONDS;

export interface AudioSource {
  /** Where the audio came from, for messages. */
  readonly name: string;
  /** Length of the file on the stream timeline, seconds (before any looping). */
  readonly durationSeconds: number;
  /** Number of 200 ms frames in one pass of the file (the last one padded with silence). */
  readonly frameCount: number;
  /** Wire frames for this media, built on first use and cached. Index modulo frameCount to loop. */
  framesFor(media: MediaOffer): readonly Buffer[];
}

/**
 * Builds a source from per-channel 8 kHz PCM16: `external` is the customer (left), `internal` the
 * agent (right). A missing channel is silence.
 */
export function createAudioSource(name: string, channels: { external: Int16Array; internal?: Int16Array }): AudioSource {
  const length = channels.external.length;
  const internal = channels.internal ?? new Int16Array(length);
  if (internal.length !== length) throw new Error('channels differ in length');
  const frameCount = Math.max(1, Math.ceil(length / FRAME_SAMPLES));
  // Pad to whole frames so every frame (the last included) is a full 200 ms.
  const padded = (pcm: Int16Array): Int16Array => {
    const out = new Int16Array(frameCount * FRAME_SAMPLES);
    out.set(pcm);
    return out;
  };
  const pcm: Record<MediaChannel, Int16Array> = { external: padded(channels.external), internal: padded(internal) };
  const cache = new Map<string, Buffer[]>();

  return {
    name,
    durationSeconds: length / SAMPLE_RATE,
    frameCount,
    framesFor(media) {
      if (media.format !== 'PCMU' && media.format !== 'L16') throw new Error(`cannot encode ${media.format}`);
      const key = `${media.format}/${media.channels.join(',')}`;
      let frames = cache.get(key);
      if (!frames) {
        const wire = interleave(media.channels.map((c) => pcm[c]), media.format);
        const all = Buffer.from(wire.buffer, wire.byteOffset, wire.byteLength);
        const size = all.length / frameCount;
        frames = [];
        // Views into one allocation: no per-frame copies, and ws sends them as they are.
        for (let i = 0; i < frameCount; i++) frames.push(all.subarray(i * size, (i + 1) * size));
        cache.set(key, frames);
      }
      return frames;
    },
  };
}

/**
 * Reads a WAV (µ-law or PCM16, any rate, mono or stereo). Stereo: left = customer (external),
 * right = agent (internal); channels past the second are ignored. Mono goes to the customer
 * channel, the agent channel is silent.
 */
export async function loadWavSource(path: string): Promise<AudioSource> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let wav;
  try {
    wav = parseWav(buf);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  let channels = splitChannels(wav.data, wav.format, wav.channels);
  if (wav.sampleRate !== SAMPLE_RATE) channels = channels.map((c) => resampleLinear(c, wav.sampleRate, SAMPLE_RATE));
  const [external, internal] = channels;
  if (!external || external.length === 0) throw new Error(`${path}: no audio`);
  return createAudioSource(path, internal ? { external, internal } : { external });
}

/** Silence of the given length (tests, calls without a file). */
export function silenceSource(seconds: number): AudioSource {
  return createAudioSource('silence', { external: new Int16Array(Math.round(seconds * SAMPLE_RATE)) });
}
