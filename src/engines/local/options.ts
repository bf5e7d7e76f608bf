/**
 * Offline engine settings: the environment fragment and the options built from it. The engine
 * runs Debian's `pocketsphinx_batch` (package `pocketsphinx`, 0.8+5prealpha) with the US English
 * model of `pocketsphinx-en-us`. "Configured" means both are on disk; when they are not, the
 * server still starts and sessions that ask for this engine are refused with the reason below.
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { intIn, type Setup } from '../../config/env.js';
import { isExecutable } from '../../config/executables.js';

export const DEFAULT_BINARY = '/usr/bin/pocketsphinx_batch';
export const DEFAULT_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';
export const NOT_INSTALLED = 'offline engine not installed (apt-get install pocketsphinx pocketsphinx-en-us)';

export const localEnv = {
  /** Warm pocketsphinx processes, i.e. utterances recognized at once (default: one per core). */
  LOCAL_ENGINE_CONCURRENCY: intIn(1, 64).optional(),
  LOCAL_ENGINE_BINARY: z.string().trim().min(1).optional(),
  /** A directory laid out as Debian's: `en-us/` (acoustic model), `en-us.lm.bin`, `cmudict-en-us.dict`. */
  LOCAL_ENGINE_MODEL_DIR: z.string().trim().min(1).optional(),
};

type LocalEnv = z.infer<z.ZodObject<typeof localEnv>>;

export interface LocalEngineOptions {
  /** Path of `pocketsphinx_batch`. */
  binary: string;
  /** Acoustic model directory (`-hmm`). */
  acousticModel: string;
  /** Language model (`-lm`). */
  languageModel: string;
  /** Pronunciation dictionary (`-dict`). */
  dictionary: string;
  /** Pool size: at most this many utterances are decoded at once; later ones wait. */
  concurrency: number;
}

export type LocalSetup = Setup<LocalEngineOptions>;

/**
 * The shipped model is US English; it serves any English (`en` covers en-GB, en-AU…), and the
 * probe offers its full tag.
 */
export const supportedLanguages: readonly string[] = ['en-US', 'en'];

function exists(path: string, kind: 'file' | 'dir'): boolean {
  try {
    const s = statSync(path);
    return kind === 'file' ? s.isFile() : s.isDirectory();
  } catch {
    return false;
  }
}

/** `defaults`: where Debian's packages put things (other values only in tests). */
export function localSetup(e: LocalEnv, defaults = { binary: DEFAULT_BINARY, modelDir: DEFAULT_MODEL_DIR }): LocalSetup {
  const binary = e.LOCAL_ENGINE_BINARY ?? defaults.binary;
  const modelDir = e.LOCAL_ENGINE_MODEL_DIR ?? defaults.modelDir;
  const options: LocalEngineOptions = {
    binary,
    acousticModel: join(modelDir, 'en-us'),
    languageModel: join(modelDir, 'en-us.lm.bin'),
    dictionary: join(modelDir, 'cmudict-en-us.dict'),
    concurrency: e.LOCAL_ENGINE_CONCURRENCY ?? Math.max(1, Math.min(availableParallelism(), 16)),
  };
  const missing: string[] = [];
  if (!isExecutable(binary)) missing.push(`LOCAL_ENGINE_BINARY: ${binary} is not an executable file`);
  if (!exists(join(options.acousticModel, 'mdef'), 'file')) missing.push(`LOCAL_ENGINE_MODEL_DIR: no acoustic model at ${options.acousticModel}`);
  for (const file of [options.languageModel, options.dictionary]) {
    if (!exists(file, 'file')) missing.push(`LOCAL_ENGINE_MODEL_DIR: ${file} not found`);
  }
  if (missing.length === 0) return { configured: true, options };
  // Paths the operator chose that do not exist are configuration errors; missing defaults only
  // mean the packages are not installed, which must not stop the server.
  const chosen = missing.filter(
    (m) => (m.startsWith('LOCAL_ENGINE_BINARY') && e.LOCAL_ENGINE_BINARY) || (m.startsWith('LOCAL_ENGINE_MODEL_DIR') && e.LOCAL_ENGINE_MODEL_DIR),
  );
  if (chosen.length > 0) return { configured: false, reason: chosen.join('; '), problems: chosen };
  const newerCli = !e.LOCAL_ENGINE_BINARY && binary === DEFAULT_BINARY && isExecutable('/usr/bin/pocketsphinx') && !isExecutable(binary);
  return {
    configured: false,
    reason: newerCli ? 'offline engine not installed: found pocketsphinx 5, which has no pocketsphinx_batch (0.8 is needed)' : NOT_INSTALLED,
    problems: [],
  };
}
