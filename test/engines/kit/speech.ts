/**
 * Real speech for the utterance tests: sentences spoken by Debian's `flite`, trimmed of their own
 * leading and trailing silence and turned into 8 kHz µ-law by `sox` (as Genesys sends it), then
 * decoded and laid out with known silences between them. Made at run time into a temp dir.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMulaw } from '../../../src/audio/mulaw.js';

export const RATE = 8000;

function has(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** flite and sox are installed (`apt-get install -y flite sox`); tests that need them skip otherwise. */
export const canSpeak = has('flite') && has('sox');

export interface SpokenCall {
  pcm: Int16Array;
  /** Where each sentence's speech lies, ms from the first sample. */
  spans: { text: string; startMs: number; endMs: number }[];
}

/** One sentence as 8 kHz PCM16 decoded from µ-law, with flite's own silence trimmed off. */
export function speak(text: string, dir: string, index: number): Int16Array {
  const wav = join(dir, `s${index}.wav`);
  const raw = join(dir, `s${index}.ul`);
  execFileSync('flite', ['-t', text, '-o', wav]);
  // Trim leading silence, reverse, trim again, reverse back: the speech edges are then the file's.
  // -D: no dither, so the same sentence makes the same audio on every run.
  execFileSync('sox', ['-D', wav, '-t', 'raw', '-r', String(RATE), '-c', '1', '-e', 'mu-law', raw,
    'silence', '1', '0.01', '0.5%', 'reverse', 'silence', '1', '0.01', '0.5%', 'reverse']);
  return decodeMulaw(readFileSync(raw));
}

/** Deterministic low line noise (about −60 dBFS), so silence is not digital zero. */
export function lineNoise(samples: number, seed = 7): Int16Array {
  const out = new Int16Array(samples);
  let x = seed;
  for (let i = 0; i < samples; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = Math.round(((x / 0x7fffffff) * 2 - 1) * 50);
  }
  return out;
}

/** `silencesMs[i]` precedes sentence i; `silencesMs[texts.length]` (default 1000) follows the last. */
export function spokenCall(texts: string[], silencesMs: number[]): SpokenCall {
  const dir = mkdtempSync(join(tmpdir(), 'speech-'));
  try {
    const parts: Int16Array[] = [];
    const spans: SpokenCall['spans'] = [];
    let at = 0;
    texts.forEach((text, i) => {
      const gap = lineNoise(Math.round(((silencesMs[i] ?? 1000) * RATE) / 1000), i + 1);
      const speech = speak(text, dir, i);
      parts.push(gap, speech);
      spans.push({ text, startMs: ((at + gap.length) * 1000) / RATE, endMs: ((at + gap.length + speech.length) * 1000) / RATE });
      at += gap.length + speech.length;
    });
    parts.push(lineNoise(Math.round(((silencesMs[texts.length] ?? 1000) * RATE) / 1000), 99));
    return { pcm: concatPcm(...parts), spans };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The parts one after another, in one new array. */
export function concatPcm(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Pushes `pcm` in 20 ms frames through one reused array, as the session does. */
export function pushInFrames(push: (frame: Int16Array) => void, pcm: Int16Array, frameSamples = 160): void {
  const scratch = new Int16Array(frameSamples);
  for (let i = 0; i < pcm.length; i += frameSamples) {
    const n = Math.min(frameSamples, pcm.length - i);
    scratch.set(pcm.subarray(i, i + n));
    push(n === frameSamples ? scratch : scratch.subarray(0, n));
    scratch.fill(12345); // the caller's array is reused: a segmenter that kept it would see this
  }
}
