/**
 * The engine contract (src/engines/types.ts), checked the same way for every engine against its
 * fakes: `describeEngineContract('openai', make)` inside a test file.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineStream, RecognitionResult, SpeechEngine } from '../../src/engines/types.js';

export interface ContractSubject {
  engine: SpeechEngine;
  /** 8 kHz PCM16 with at least one utterance the engine recognizes, ending in silence. */
  audio: Int16Array;
  cleanup?: () => Promise<void>;
}

interface Opened {
  stream: EngineStream;
  results: RecognitionResult[];
  errors: Error[];
}

const log = pino({ level: 'silent' });

function open(engine: SpeechEngine): Opened {
  const results: RecognitionResult[] = [];
  const errors: Error[] = [];
  const stream = engine.openStream({
    language: 'en-US',
    sampleRate: 8000,
    interimResults: false,
    log,
    onResult: (r) => results.push(r),
    onError: (e) => errors.push(e),
  });
  return { stream, results, errors };
}

/** 20 ms frames; `reuse` pushes them all through one array that is scribbled on after each push. */
function pushAll(stream: EngineStream, audio: Int16Array, reuse: boolean): void {
  const scratch = new Int16Array(160);
  for (let i = 0; i < audio.length; i += 160) {
    const frame = audio.subarray(i, Math.min(audio.length, i + 160));
    if (!reuse) {
      stream.push(frame.slice());
      continue;
    }
    scratch.set(frame);
    stream.push(frame.length === 160 ? scratch : scratch.subarray(0, frame.length));
    scratch.fill(20000);
  }
}

const finals = (r: RecognitionResult[]) => r.filter((x) => x.isFinal && x.text.trim() !== '');
const shape = (r: RecognitionResult[]) => finals(r).map((x) => ({ text: x.text, startMs: x.startMs, endMs: x.endMs }));

export function describeEngineContract(name: string, make: () => ContractSubject | Promise<ContractSubject>): void {
  describe(`${name}: engine contract`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0)) await c();
    });
    async function subject(): Promise<ContractSubject> {
      const s = await make();
      if (s.cleanup) cleanups.push(s.cleanup);
      return s;
    }

    it('flush delivers the finals of all pushed audio, and every time lies within it', async () => {
      const { engine, audio } = await subject();
      const s = open(engine);
      pushAll(s.stream, audio, false);
      await s.stream.flush();
      expect(s.errors).toEqual([]);
      expect(finals(s.results).length).toBeGreaterThan(0);
      const pushedMs = (audio.length * 1000) / 8000;
      for (const r of s.results) {
        expect(r.startMs).toBeGreaterThanOrEqual(0);
        expect(r.endMs).toBeGreaterThanOrEqual(r.startMs);
        expect(r.endMs).toBeLessThanOrEqual(pushedMs);
        for (const w of r.words ?? []) {
          expect(w.startMs).toBeGreaterThanOrEqual(0);
          expect(w.endMs).toBeGreaterThanOrEqual(w.startMs);
          expect(w.endMs).toBeLessThanOrEqual(pushedMs);
        }
      }
      // The stream stays usable after a flush.
      const before = finals(s.results).length;
      pushAll(s.stream, audio, false);
      await s.stream.flush();
      expect(finals(s.results).length).toBeGreaterThan(before);
      await s.stream.close();
    });

    it('mutating an array after push changes nothing', async () => {
      const copies = open((await subject()).engine);
      const { engine, audio } = await subject();
      const reused = open(engine);
      pushAll(copies.stream, audio, false);
      pushAll(reused.stream, audio, true);
      await Promise.all([copies.stream.flush(), reused.stream.flush()]);
      expect(shape(reused.results)).toEqual(shape(copies.results));
      await Promise.all([copies.stream.close(), reused.stream.close()]);
    });

    it('delivers nothing after close, and a second close is harmless', async () => {
      const { engine, audio } = await subject();
      const s = open(engine);
      pushAll(s.stream, audio, false);
      const flushed = s.stream.flush();
      await s.stream.close();
      const count = s.results.length + s.errors.length;
      await flushed; // a flush pending at close still settles
      await new Promise((r) => setTimeout(r, 200));
      s.stream.push(audio.slice(0, 1600));
      await s.stream.close();
      await s.stream.flush();
      expect(s.results.length + s.errors.length).toBe(count);
    });
  });
}
