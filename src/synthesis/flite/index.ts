/**
 * The `flite` synthesizer, the offline default: Debian's `flite` binary (CMU Flite 2.2), one
 * process per sentence group, its WAV read from stdout. flite writes nothing until it has
 * synthesized all of its text, so a prompt is split at sentence ends: the first sentence plays
 * while the next is being made (one process ahead), instead of waiting for the whole prompt.
 * flite writes to a file name only, and `/dev/stdout` fails under Node (its stdio is a socket,
 * which cannot be opened): each run writes into a private temp directory of its own, removed after.
 *
 * The text goes to flite as one argv entry (`-t`), never through a shell. English only: flite's
 * voices read any other language with English letter-to-sound rules, which nobody understands.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWav, type WavAudio } from '../../audio/wav.js';
import { primaryLanguage } from '../../protocol/language.js';
import { checkText, chunked, createMulawEncoder } from '../common.js';
import { SynthesisError, type SpeechSynthesizer, type SynthesisRequest } from '../types.js';

/** Voices built into Debian's flite: kal at 8 kHz, the others at 16 kHz. */
export const FLITE_VOICES = ['kal', 'kal16', 'awb', 'rms', 'slt'] as const;
export const DEFAULT_FLITE_VOICE = 'kal';
export const FLITE_NOT_INSTALLED = 'flite is not installed: apt-get install flite';

/** A process still running after this long is stuck (flite makes ~2 min of speech in about a second). */
const PROCESS_TIMEOUT_MS = 30_000;
/** Sentences are grouped up to about this many characters per process (after the first). */
const GROUP_CHARS = 160;

export interface FliteOptions {
  /** Path (or name on PATH) of the flite binary. */
  binary: string;
  /** Voice when a request names none. */
  voice: string;
  /** Called with each process id as it starts (tests check that abort kills it). */
  onSpawn?: (pid: number) => void;
}

export interface FliteSynthesizer extends SpeechSynthesizer {
  /** flite processes running now. */
  readonly running: number;
}

export interface FliteHooks {
  onSpawn?: (pid: number) => void;
  /** The process has ended (after a kill too). */
  onExit?: () => void;
}

/**
 * One flite run: the WAV it writes for `text`. Rejects with a SynthesisError, or with the
 * signal's reason when aborted (the process is then killed).
 */
export function runFlite(binary: string, voice: string, text: string, signal: AbortSignal, hooks: FliteHooks = {}): Promise<WavAudio> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    let dir: string;
    try {
      dir = mkdtempSync(join(tmpdir(), 'audiohook-flite-'));
    } catch (err) {
      return reject(new SynthesisError('no temporary directory for flite', true, { cause: err }));
    }
    const file = join(dir, 'out.wav');
    const cleanup = () => void rm(dir, { recursive: true, force: true });
    const child = spawn(binary, ['-voice', voice, '-t', text, '-o', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      fn();
      // After a kill the process may still be writing: remove the file once it has exited.
      if (child.exitCode !== null || child.signalCode !== null) cleanup();
      else child.once('exit', cleanup);
    };
    const onAbort = () => {
      child.kill('SIGKILL');
      finish(() => reject(signal.reason));
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(() => reject(new SynthesisError(`flite did not finish within ${PROCESS_TIMEOUT_MS / 1000} s`, true)));
    }, PROCESS_TIMEOUT_MS);
    signal.addEventListener('abort', onAbort, { once: true });
    if (child.pid !== undefined) {
      hooks.onSpawn?.(child.pid);
      child.once('exit', () => hooks.onExit?.());
    }
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 500) stderr += chunk.toString('utf8');
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      const message = err.code === 'ENOENT' ? FLITE_NOT_INSTALLED : `flite could not be started (${err.code ?? 'error'})`;
      finish(() => reject(new SynthesisError(message, err.code !== 'ENOENT', { cause: err })));
      cleanup(); // a process that never started sends no exit
    });
    child.on('close', (code, sig) => {
      if (code !== 0) {
        // Killed by a signal (out of memory…) may pass on a retry; an exit code will not.
        const why = sig ? `killed by ${sig}` : `exit ${code}`;
        return finish(() => reject(new SynthesisError(`flite failed (${why})${/voice/i.test(stderr) ? ': unknown voice' : ''}`, sig !== null)));
      }
      if (settled) return;
      readFile(file).then(
        (bytes) => {
          try {
            const wav = parseWav(bytes);
            if (wav.format !== 'L16' || wav.channels !== 1) throw new Error(`unexpected ${wav.format} × ${wav.channels} channels`);
            finish(() => resolve(wav));
          } catch (err) {
            finish(() => reject(new SynthesisError('flite wrote an unreadable WAV', false, { cause: err })));
          }
        },
        (err: unknown) => finish(() => reject(new SynthesisError('flite wrote no WAV', false, { cause: err }))),
      );
    });
  });
}

/**
 * Sentence groups: the first sentence alone (the first audio comes soonest), then sentences
 * joined up to GROUP_CHARS (fewer processes; flite's prosody is per sentence anyway).
 */
export function splitSentences(text: string): string[] {
  const sentences = text.split(/(?<=[.!?;:])\s+|\n+/).map((s) => s.trim()).filter((s) => s !== '');
  const groups: string[] = [];
  for (const s of sentences) {
    const last = groups.length > 1 ? groups[groups.length - 1]! : undefined;
    if (last !== undefined && last.length + 1 + s.length <= GROUP_CHARS) groups[groups.length - 1] = `${last} ${s}`;
    else groups.push(s);
  }
  return groups;
}

export function createFliteSynthesizer(options: FliteOptions): FliteSynthesizer {
  let running = 0;
  const run = (voice: string, text: string, signal: AbortSignal): Promise<WavAudio> => {
    return runFlite(options.binary, voice, text, signal, {
      onSpawn: (pid) => {
        running++;
        options.onSpawn?.(pid);
      },
      onExit: () => running--,
    });
  };

  async function* synthesize(request: SynthesisRequest): AsyncGenerator<Uint8Array> {
    const text = checkText(request.text);
    const voice = request.voice ?? options.voice;
    if (!(FLITE_VOICES as readonly string[]).includes(voice)) {
      throw new SynthesisError(`flite has no voice '${voice}' (${FLITE_VOICES.join(', ')})`, false);
    }
    if (primaryLanguage(request.language) !== 'en') {
      throw new SynthesisError(`flite speaks English only, not ${request.language}`, false);
    }
    if (text === '' || request.signal.aborted) return;
    // Ours: aborted by the caller's signal, and when the consumer stops early (return()).
    const local = new AbortController();
    const onAbort = () => local.abort(request.signal.reason);
    request.signal.addEventListener('abort', onAbort, { once: true });
    const groups = splitSentences(text);
    const pending: Promise<WavAudio>[] = [];
    let encoder: ReturnType<typeof createMulawEncoder> | undefined;
    let rate = 0;
    try {
      let started = 0;
      const startNext = () => {
        if (started >= groups.length) return;
        const p = run(voice, groups[started++]!, local.signal);
        p.catch(() => undefined); // awaited below; an early return must not leave it unhandled
        pending.push(p);
      };
      startNext();
      while (pending.length > 0) {
        let wav: WavAudio;
        try {
          wav = await pending.shift()!;
        } catch (err) {
          if (local.signal.aborted) return;
          throw err;
        }
        startNext(); // one process ahead, while this group's audio is consumed
        if (!encoder || wav.sampleRate !== rate) {
          if (encoder) yield* chunked(encoder.end());
          rate = wav.sampleRate;
          encoder = createMulawEncoder(rate);
        }
        const pcm = new Int16Array(wav.data.buffer.slice(wav.data.byteOffset, wav.data.byteOffset + wav.data.byteLength));
        for (const chunk of chunked(encoder.push(pcm))) {
          if (local.signal.aborted) return;
          yield chunk;
        }
      }
      if (encoder && !local.signal.aborted) yield* chunked(encoder.end());
    } finally {
      request.signal.removeEventListener('abort', onAbort);
      local.abort(); // kills a process still running ahead
    }
  }

  return {
    name: 'flite',
    languages: ['en'],
    get running() {
      return running;
    },
    synthesize,
  };
}
