/**
 * The flite synthesizer with the real binary: 8 kHz µ-law without a header, of a plausible
 * length, that the offline recognizer hears as the same words; aborts kill the process.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeMulaw } from '../../src/audio/mulaw.js';
import { createLocalRecognizer } from '../../src/engines/local/recognizer.js';
import { MAX_TEXT_CHARS } from '../../src/synthesis/common.js';
import { createFliteSynthesizer, FLITE_NOT_INSTALLED, splitSentences } from '../../src/synthesis/flite/index.js';
import { SynthesisError } from '../../src/synthesis/types.js';
import { collect, fliteBinary, noFlite, noRecognizer, offlineOptions, request, rms, startsWithRiff } from './helpers.js';

if (noFlite) console.warn(noFlite);
else if (noRecognizer) console.warn(noRecognizer);

const dir = mkdtempSync(join(tmpdir(), 'flite-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('sentence groups', () => {
  it('keeps the first sentence alone and groups the rest up to about 160 characters', () => {
    expect(splitSentences('Hello. How are you? Fine!\nBye')).toEqual(['Hello.', 'How are you? Fine! Bye']);
    const long = Array.from({ length: 20 }, (_, i) => `Sentence number ${i} is here.`).join(' ');
    const groups = splitSentences(long);
    expect(groups[0]).toBe('Sentence number 0 is here.');
    for (const g of groups) expect(g.length).toBeLessThanOrEqual(160);
    expect(groups.join(' ')).toBe(long);
  });
});

describe.skipIf(noFlite !== undefined)('flite synthesizer', () => {
  const flite = createFliteSynthesizer({ binary: fliteBinary!, voice: 'kal' });

  it('makes 8 kHz µ-law without a header, as long as the sentence takes to say', async () => {
    const { chunks, audio } = await collect(flite, request('Hello, thank you for calling. How can I help you today?'));
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(1600);
    expect(startsWithRiff(audio)).toBe(false);
    const seconds = audio.length / 8000;
    expect(seconds).toBeGreaterThan(2);
    expect(seconds).toBeLessThan(7);
    expect(rms(decodeMulaw(audio))).toBeGreaterThan(300); // speech, not silence
  });

  it('resamples the 16 kHz voices to 8 kHz (same duration as the WAV flite writes)', async () => {
    const kal = await collect(flite, request('The weather is nice today.'));
    const slt = await collect(flite, request('The weather is nice today.', { voice: 'slt' }));
    expect(startsWithRiff(slt.audio)).toBe(false);
    // Different voices speak at different speeds, but not twice (or half) as fast.
    expect(slt.audio.length / kal.audio.length).toBeGreaterThan(0.6);
    expect(slt.audio.length / kal.audio.length).toBeLessThan(1.6);
    expect(rms(decodeMulaw(slt.audio))).toBeGreaterThan(300);
  });

  it('passes text as one argument, never through a shell (dashes, quotes, $() are just words)', async () => {
    const marker = join(dir, 'pwned');
    const { audio } = await collect(flite, request(`-voice awb "quoted" $(touch ${marker}); \`touch ${marker}\``));
    expect(audio.length).toBeGreaterThan(8000);
    expect(alive(process.pid)).toBe(true);
    await expect(import('node:fs').then((fs) => fs.existsSync(marker))).resolves.toBe(false);
  });

  it('refuses unknown voices, other languages and over-long text (not retryable); empty text is no audio', async () => {
    for (const [req, message] of [
      [request('hi', { voice: 'no-such-voice' }), /no voice 'no-such-voice'/],
      [request('Guten Tag', { language: 'de-DE' }), /English only/],
      [request('a'.repeat(MAX_TEXT_CHARS + 1)), /too long/],
    ] as const) {
      const err = await collect(flite, req).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SynthesisError);
      expect((err as SynthesisError).retryable).toBe(false);
      expect((err as Error).message).toMatch(message);
    }
    expect((await collect(flite, request('  \n '))).chunks).toEqual([]);
  });

  it('a missing binary is a SynthesisError saying how to install flite', async () => {
    const missing = createFliteSynthesizer({ binary: join(dir, 'no-flite'), voice: 'kal' });
    const err = await collect(missing, request('hello there')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SynthesisError);
    expect((err as Error).message).toBe(FLITE_NOT_INSTALLED);
  });

  it('abort mid-synthesis ends the iterator quietly and kills the running process', async () => {
    // A stand-in that never finishes, so the abort certainly finds it running.
    const slow = join(dir, 'slow-flite');
    writeFileSync(slow, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(slow, 0o755);
    const pids: number[] = [];
    const synth = createFliteSynthesizer({ binary: slow, voice: 'kal', onSpawn: (pid) => pids.push(pid) });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 200);
    const { chunks } = await collect(synth, request('This will never be spoken.', { signal: controller.signal }));
    expect(chunks).toEqual([]);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(pids).toHaveLength(1);
    await until(() => !alive(pids[0]!) && synth.running === 0);
  });

  it('abort after the first audio of a long prompt ends the iterator and leaves no flite running', async () => {
    const pids: number[] = [];
    const synth = createFliteSynthesizer({ binary: fliteBinary!, voice: 'kal', onSpawn: (pid) => pids.push(pid) });
    const controller = new AbortController();
    const text = Array.from({ length: 12 }, (_, i) => `This is sentence number ${i + 1} of a rather long prompt.`).join(' ');
    let got = 0;
    for await (const chunk of synth.synthesize(request(text, { signal: controller.signal }))) {
      got += chunk.length;
      controller.abort();
    }
    expect(got).toBe(1600);
    expect(pids.length).toBeLessThan(splitSentences(text).length); // the rest were never started
    await until(() => synth.running === 0 && pids.every((pid) => !alive(pid)));
  });

  it('a consumer that stops reading (break) stops the process ahead too', async () => {
    const synth = createFliteSynthesizer({ binary: fliteBinary!, voice: 'kal' });
    const text = 'First sentence here. Second sentence is a bit longer than that. Third one too.';
    for await (const _ of synth.synthesize(request(text))) break;
    await until(() => synth.running === 0);
  });

  describe.skipIf(noRecognizer !== undefined)('round trip through the offline recognizer', () => {
    it('is heard as (roughly) the words it was asked to say', async () => {
      const recognizer = createLocalRecognizer({ ...offlineOptions!, concurrency: 1 }, pino({ level: 'silent' }));
      try {
        for (const text of ['good morning my name is john', 'I need to cancel my order']) {
          const { audio } = await collect(flite, request(text));
          const result = await recognizer.recognize(decodeMulaw(audio), { language: 'en-US', sampleRate: 8000, signal: new AbortController().signal });
          const heard = new Set(result.text.toLowerCase().split(/\s+/));
          const words = text.toLowerCase().split(/\s+/);
          const found = words.filter((w) => heard.has(w));
          expect(found.length, `heard "${result.text}"`).toBeGreaterThanOrEqual(Math.ceil(words.length / 2));
        }
      } finally {
        await recognizer.close();
      }
    });
  });
});
