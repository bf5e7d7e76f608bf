/**
 * What the synthesis tests share: whether flite and the offline recognizer are installed (tests
 * that need them skip, saying why in one line), and collecting a synthesizer's chunks.
 */
import { findExecutable } from '../../src/config/executables.js';
import { localSetup } from '../../src/engines/local/options.js';
import type { SpeechSynthesizer, SynthesisRequest } from '../../src/synthesis/types.js';

export const fliteBinary = findExecutable('flite');
export const noFlite = fliteBinary ? undefined : 'synthesis tests skipped: flite is not installed; run scripts/install-offline-engine.sh';

const local = localSetup({});
export const offlineOptions = local.configured ? local.options : undefined;
export const noRecognizer = local.configured ? undefined : `speech round trip skipped: ${local.reason}; run scripts/install-offline-engine.sh`;

export function request(text: string, over: Partial<SynthesisRequest> = {}): SynthesisRequest {
  return { text, language: 'en-US', signal: new AbortController().signal, ...over };
}

/** All chunks, and the whole audio. */
export async function collect(synth: SpeechSynthesizer, req: SynthesisRequest): Promise<{ chunks: Uint8Array[]; audio: Uint8Array }> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of synth.synthesize(req)) chunks.push(chunk);
  return { chunks, audio: Buffer.concat(chunks) };
}

export const startsWithRiff = (bytes: Uint8Array) => Buffer.from(bytes.subarray(0, 4)).toString('latin1') === 'RIFF';

/** RMS of decoded samples. */
export function rms(pcm: Int16Array): number {
  let sum = 0;
  for (const s of pcm) sum += s * s;
  return Math.sqrt(sum / Math.max(1, pcm.length));
}
