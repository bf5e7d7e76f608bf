/**
 * The pool, abort and crash handling, against a stand-in for pocketsphinx_batch that speaks its
 * pipe protocol (test/fixtures/local/fake-pocketsphinx.sh): these run wherever `sh` does.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalRecognizer } from '../../../src/engines/local/recognizer.js';
import { EngineError } from '../../../src/engines/types.js';

const fake = fileURLToPath(new URL('../../fixtures/local/fake-pocketsphinx.sh', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'fake-ps-'));
const activityLog = join(dir, 'activity.log');

function logCapture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

function make(concurrency: number) {
  const { log, lines } = logCapture();
  const recognizer = createLocalRecognizer({ binary: fake, acousticModel: '-', languageModel: '-', dictionary: '-', concurrency }, log);
  return { recognizer, lines };
}

const second = new Int16Array(8000);
const signal = () => new AbortController().signal;
const options = (s: AbortSignal = signal()) => ({ language: 'en-US', sampleRate: 8000, signal: s });

/** Most utterances the fake decoded at the same time, from its start/end lines. */
function maxConcurrent(): number {
  let active = 0;
  let max = 0;
  for (const line of readFileSync(activityLog, 'utf8').split('\n')) {
    if (line.startsWith('start')) max = Math.max(max, ++active);
    if (line.startsWith('end')) active--;
  }
  return max;
}

beforeAll(() => {
  process.env['FAKE_PS_DELAY_MS'] = '300';
  process.env['FAKE_PS_LOG'] = activityLog;
});
afterAll(() => {
  delete process.env['FAKE_PS_DELAY_MS'];
  delete process.env['FAKE_PS_LOG'];
  rmSync(dir, { recursive: true, force: true });
});

describe('offline recognizer pool', () => {
  it('runs at most N utterances at once on N warm processes; the N+1th waits its turn', async () => {
    const { recognizer } = make(2);
    try {
      const started = Date.now();
      const results = await Promise.all([1, 2, 3].map(() => recognizer.recognize(second, options())));
      const elapsed = Date.now() - started;
      expect(results.map((r) => r.text)).toEqual(['hello', 'hello', 'hello']);
      expect(results[0]?.words).toEqual([{ text: 'hello', startMs: 100, endMs: 400, confidence: 0.9 }]);
      expect(maxConcurrent()).toBe(2);
      expect(recognizer.stats.started).toBe(2);
      expect(elapsed).toBeGreaterThanOrEqual(600); // two rounds of 300 ms
    } finally {
      await recognizer.close();
    }
  });

  it('starts processes on demand, or all at once with warm(), and no more', async () => {
    const { recognizer } = make(3);
    try {
      expect(recognizer.stats.started).toBe(0);
      await recognizer.recognize(second, options());
      expect(recognizer.stats.started).toBe(1);
      recognizer.warm();
      recognizer.warm();
      expect(recognizer.stats.started).toBe(3);
      await Promise.all([1, 2, 3, 4].map(() => recognizer.recognize(second, options())));
      expect(recognizer.stats.started).toBe(3);
    } finally {
      await recognizer.close();
    }
  });

  it('an abort returns at once, whether running or waiting, and the pool carries on', async () => {
    const { recognizer } = make(1);
    try {
      const running = new AbortController();
      const waiting = new AbortController();
      const first = recognizer.recognize(second, options(running.signal));
      const queued = recognizer.recognize(second, options(waiting.signal));
      await new Promise((r) => setTimeout(r, 50));
      expect(recognizer.stats.waiting).toBe(1);
      const t = Date.now();
      waiting.abort();
      running.abort();
      await expect(queued).rejects.toMatchObject({ name: 'AbortError' });
      await expect(first).rejects.toMatchObject({ name: 'AbortError' });
      expect(Date.now() - t).toBeLessThan(100);
      expect(recognizer.stats.waiting).toBe(0);
      await expect(recognizer.recognize(second, options())).resolves.toMatchObject({ text: 'hello' });
      expect(recognizer.stats.started).toBe(1); // the aborted utterance did not cost the warm process
      const aborted = new AbortController();
      aborted.abort();
      await expect(recognizer.recognize(second, options(aborted.signal))).rejects.toMatchObject({ name: 'AbortError' });
    } finally {
      await recognizer.close();
    }
  });

  it('a crash fails the utterance with a retryable EngineError, the stderr tail goes to the log only, and a new process takes over', async () => {
    const { recognizer, lines } = make(1);
    try {
      const crash = recognizer.recognize(new Int16Array(9872), options()); // 1234 ms: the fake's crash
      const error = await crash.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineError);
      expect(error).toMatchObject({ kind: 'internal', retryable: true, message: 'offline recognizer exited' });
      const warning = lines.find((l) => l['msg'] === 'offline recognizer: pocketsphinx exited');
      expect(warning).toMatchObject({ level: 40, code: 3, stderrTail: ['FATAL: "fake.c", line 1: simulated crash'] });
      await expect(recognizer.recognize(second, options())).resolves.toMatchObject({ text: 'hello' });
      expect(recognizer.stats.started).toBe(2);
    } finally {
      await recognizer.close();
    }
  });

  it('a binary that cannot start fails requests with a retryable EngineError', async () => {
    const { log, lines } = logCapture();
    const recognizer = createLocalRecognizer({ binary: join(dir, 'missing'), acousticModel: '-', languageModel: '-', dictionary: '-', concurrency: 1 }, log);
    try {
      await expect(recognizer.recognize(second, options())).rejects.toMatchObject({ name: 'EngineError', kind: 'internal', retryable: true });
      expect(lines.some((l) => l['msg'] === 'offline recognizer: cannot start pocketsphinx')).toBe(true);
    } finally {
      await recognizer.close();
    }
  });

  it('close fails what is running and waiting, and refuses new requests', async () => {
    const { recognizer } = make(1);
    const running = recognizer.recognize(second, options());
    const waiting = recognizer.recognize(second, options());
    await new Promise((r) => setTimeout(r, 50));
    const outcomes = Promise.allSettled([running, waiting]);
    await recognizer.close();
    const [a, b] = await outcomes;
    expect(a).toMatchObject({ status: 'rejected', reason: { message: 'offline recognizer closed' } });
    expect(b).toMatchObject({ status: 'rejected', reason: { message: 'offline recognizer is closed' } });
    await expect(recognizer.recognize(second, options())).rejects.toThrow('closed');
  });
});
