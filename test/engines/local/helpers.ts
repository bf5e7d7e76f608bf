/**
 * What the offline tests need: pocketsphinx (the engine), flite and sox (the speech). Where they
 * cannot be installed the tests skip, saying so in one line.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMulaw } from '../../../src/audio/mulaw.js';
import { localSetup, type LocalEngineOptions } from '../../../src/engines/local/options.js';
import { canSpeak } from '../kit/speech.js';

const setup = localSetup({});

export const offlineOptions: LocalEngineOptions | undefined = setup.configured ? setup.options : undefined;

export const skipReason = !setup.configured
  ? `offline engine tests skipped: ${setup.reason}; run scripts/install-offline-engine.sh --with-test-tools`
  : !canSpeak
    ? 'offline engine tests skipped: flite and sox are not installed; run scripts/install-offline-engine.sh --with-test-tools'
    : undefined;

/**
 * Sentences as 8 kHz PCM16 through µ-law (as Genesys sends them), spoken by flite, its silences
 * trimmed. `-D`: sox would otherwise dither the µ-law with a time-seeded random noise, so the
 * same sentence would sound (and be recognized) a little differently on every run.
 */
export function speakAll(texts: readonly string[]): Int16Array[] {
  const dir = mkdtempSync(join(tmpdir(), 'local-speech-'));
  try {
    return texts.map((text, i) => {
      const wav = join(dir, `${i}.wav`);
      const mulaw = join(dir, `${i}.ul`);
      execFileSync('flite', ['-t', text, '-o', wav]);
      execFileSync('sox', ['-D', wav, '-t', 'raw', '-r', '8000', '-c', '1', '-e', 'mu-law', mulaw,
        'silence', '1', '0.01', '0.5%', 'reverse', 'silence', '1', '0.01', '0.5%', 'reverse']);
      return decodeMulaw(readFileSync(mulaw));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

