import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createUtteranceEngine, type RecognizeOptions, type RecognizerCapabilities, type SegmentRecognizer, type UtteranceEngineOptions } from '../../../src/engines/kit/utterance-engine.js';
import { EngineError, type RecognitionResult } from '../../../src/engines/types.js';
import { describeEngineContract } from '../contract.js';
import { canSpeak, pushInFrames, spokenCall, type SpokenCall } from './speech.js';

type Result = Awaited<ReturnType<SegmentRecognizer['recognize']>>;
type Behaviour = (call: { index: number; pcm: Int16Array; options: RecognizeOptions }) => Promise<Result> | Result;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function scripted(behaviour: Behaviour, capabilities: Partial<RecognizerCapabilities> = {}) {
  const calls: { index: number; pcm: Int16Array; options: RecognizeOptions }[] = [];
  let active = 0;
  const stats = { maxActive: 0 };
  const recognizer: SegmentRecognizer = {
    name: 'scripted',
    capabilities,
    async recognize(pcm, options) {
      const call = { index: calls.length, pcm, options };
      calls.push(call);
      active++;
      stats.maxActive = Math.max(stats.maxActive, active);
      try {
        return await behaviour(call);
      } finally {
        active--;
      }
    },
  };
  return { recognizer, calls, stats };
}

function logCapture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

function open(recognizer: SegmentRecognizer, options: UtteranceEngineOptions = {}, interimResults = false) {
  const results: RecognitionResult[] = [];
  const errors: Error[] = [];
  const { log, lines } = logCapture();
  const engine = createUtteranceEngine(recognizer, options);
  const stream = engine.openStream({ language: 'en-US', sampleRate: 8000, interimResults, log, onResult: (r) => results.push(r), onError: (e) => errors.push(e) });
  return { engine, stream, results, errors, lines, push: (pcm: Int16Array) => pushInFrames((f) => stream.push(f), pcm) };
}

const texts = ['Good morning.', 'I need help with my bill.', 'The amount looks wrong.', 'Thank you very much.'];
let shared: SpokenCall | undefined;
const call = () => (shared ??= spokenCall(texts, [600, 1100, 1100, 1100, 1000]));
const finals = (r: RecognitionResult[]) => r.filter((x) => x.isFinal);

describe.skipIf(!canSpeak)('utterance engine', () => {
  it('sends results in utterance order when recognitions finish out of order, on the speech spans', async () => {
    const { recognizer, calls, stats } = scripted(async ({ index }) => {
      await sleep(index === 0 ? 250 : 10);
      return { text: `u${index + 1}` };
    });
    const s = open(recognizer, { streamInFlight: 2 });
    s.push(call().pcm);
    await s.stream.flush();
    expect(finals(s.results).map((r) => r.text)).toEqual(['u1', 'u2', 'u3', 'u4']);
    expect(stats.maxActive).toBe(2);
    finals(s.results).forEach((r, i) => {
      expect(Math.abs(r.startMs - call().spans[i]!.startMs)).toBeLessThanOrEqual(150);
      expect(Math.abs(r.endMs - call().spans[i]!.endMs)).toBeLessThanOrEqual(150);
    });
    expect(calls.every((c) => c.options.language === 'en-US' && c.options.sampleRate === 8000)).toBe(true);
    await s.stream.close();
  });

  it('bounds recognitions per process across streams', async () => {
    const { recognizer, stats } = scripted(async () => (await sleep(20), { text: 'x' }));
    const a = open(recognizer, { concurrency: 1 });
    const engine = a.engine;
    const results: RecognitionResult[] = [];
    const b = engine.openStream({ language: 'en-US', sampleRate: 8000, interimResults: false, log: pino({ level: 'silent' }), onResult: (r) => results.push(r), onError: () => {} });
    a.push(call().pcm);
    pushInFrames((f) => b.push(f), call().pcm);
    await Promise.all([a.stream.flush(), b.flush()]);
    expect(stats.maxActive).toBe(1);
    expect(finals(a.results)).toHaveLength(4);
    expect(finals(results)).toHaveLength(4);
  });

  it('a slow recognizer: waiting utterances beyond the backlog are merged (times kept), or dropped when too long', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { recognizer, calls } = scripted(async ({ index }) => (index === 0 ? await gate : undefined, { text: `r${index + 1}` }));
    const s = open(recognizer, { streamInFlight: 1, maxWaiting: 1 });
    s.push(call().pcm);
    const flushed = s.stream.flush();
    await sleep(20);
    release();
    await flushed;
    // u1 ran; u2 waited; u3 and u4 arrived with the backlog full and were merged into it.
    expect(finals(s.results).map((r) => r.text)).toEqual(['r1', 'r2']);
    const merged = finals(s.results)[1]!;
    expect(Math.abs(merged.startMs - call().spans[1]!.startMs)).toBeLessThanOrEqual(150);
    expect(Math.abs(merged.endMs - call().spans[3]!.endMs)).toBeLessThanOrEqual(150);
    // The merged audio keeps its place: sample 0 of the request is 200 ms before u2's speech.
    expect(calls[1]!.pcm.length / 8).toBeGreaterThan(call().spans[3]!.endMs - call().spans[1]!.startMs);
    expect(s.lines.filter((l) => l['msg'] === 'recognizer behind: utterance merged into the waiting one')).toHaveLength(2);

    const d = open(scripted(async ({ index }) => (index === 0 ? await sleep(100) : undefined, { text: `d${index + 1}` })).recognizer, {
      streamInFlight: 1,
      maxWaiting: 1,
      segmenter: { maxUtteranceMs: 2000 },
    });
    d.push(call().pcm);
    await d.stream.flush();
    expect(finals(d.results).map((r) => r.text)).toEqual(['d1', 'd2']); // u2 and u3 dropped, u4 recognized second
    expect(Math.abs(finals(d.results)[1]!.startMs - call().spans[3]!.startMs)).toBeLessThanOrEqual(150);
    await d.stream.close();
    const closed = d.lines.find((l) => l['msg'] === 'utterance stream closed');
    expect(closed).toMatchObject({ level: 40, dropped: 2, merged: 0, utterances: 4 });
  });

  it('flush ends the open utterance and resolves once its result is delivered; the stream stays usable', async () => {
    const { recognizer } = scripted(async ({ index }) => (await sleep(30), { text: `f${index + 1}` }));
    const s = open(recognizer);
    const cut = Math.round(((call().spans[1]!.endMs - 200) * 8000) / 1000); // inside utterance 2
    s.push(call().pcm.subarray(0, cut));
    await sleep(50);
    expect(finals(s.results).map((r) => r.text)).toEqual(['f1']);
    await s.stream.flush();
    expect(finals(s.results).map((r) => r.text)).toEqual(['f1', 'f2']);
    // The rest of utterance 2 is an utterance of its own.
    s.push(call().pcm.subarray(cut));
    await s.stream.flush();
    expect(finals(s.results).map((r) => r.text)).toEqual(['f1', 'f2', 'f3', 'f4', 'f5']);
    expect(finals(s.results)[2]!.startMs).toBeGreaterThanOrEqual(finals(s.results)[1]!.endMs);
  });

  it('close aborts requests in flight and delivers nothing after', async () => {
    const signals: AbortSignal[] = [];
    const { recognizer } = scripted(({ options }) => {
      signals.push(options.signal);
      return new Promise<Result>((resolve) => setTimeout(() => resolve({ text: 'late' }), 200));
    });
    const s = open(recognizer);
    s.push(call().pcm);
    const flushed = s.stream.flush();
    await sleep(20);
    await s.stream.close();
    await flushed;
    expect(signals.length).toBeGreaterThan(0);
    expect(signals.every((g) => g.aborted)).toBe(true);
    await sleep(300);
    expect(s.results).toEqual([]);
    await s.stream.close();
  });

  it('a final refusal (not retryable) ends the stream through onError, once; a transient failure loses one utterance, logged with its span', async () => {
    const fatal = open(scripted(({ index }) => {
      if (index === 1) throw new EngineError('key rejected', 'auth', false);
      return { text: 'ok' };
    }).recognizer);
    fatal.push(call().pcm);
    await fatal.stream.flush();
    expect(fatal.errors).toHaveLength(1);
    expect((fatal.errors[0] as EngineError).kind).toBe('auth');
    expect(finals(fatal.results).map((r) => r.text)).toEqual(['ok']);

    const transient = open(scripted(({ index }) => {
      if (index === 1) throw new EngineError('server error', 'unavailable', true);
      return { text: `t${index + 1}` };
    }).recognizer);
    transient.push(call().pcm);
    await transient.stream.flush();
    expect(transient.errors).toEqual([]);
    expect(finals(transient.results).map((r) => r.text)).toEqual(['t1', 't3', 't4']);
    const warn = transient.lines.find((l) => l['msg'] === 'utterance not recognized');
    expect(warn).toMatchObject({ level: 40, span: { startMs: expect.any(Number), endMs: expect.any(Number) } });
    await transient.stream.close();
    expect(transient.lines.find((l) => l['msg'] === 'utterance stream closed')).toMatchObject({ failed: 1, recognized: 3 });
  });

  it('a consumer that throws is logged and does not stop later results', async () => {
    const { recognizer } = scripted(({ index }) => ({ text: `c${index + 1}` }));
    const { log, lines } = logCapture();
    const seen: string[] = [];
    const stream = createUtteranceEngine(recognizer).openStream({
      language: 'en-US', sampleRate: 8000, interimResults: false, log,
      onResult: (r) => { seen.push(r.text); throw new Error('consumer bug'); },
      onError: () => {},
    });
    pushInFrames((f) => stream.push(f), call().pcm);
    await stream.flush();
    expect(seen).toEqual(['c1', 'c2', 'c3', 'c4']);
    expect(lines.filter((l) => l['msg'] === 'engine result consumer threw')).toHaveLength(4);
  });

  it('word times: real ones shifted onto the stream; missing ones spread over the speech span by length', async () => {
    const timed = open(scripted(() => ({ text: 'a bb', words: [{ text: 'a', startMs: 200, endMs: 300 }, { text: 'bb', startMs: 300, endMs: 500 }] }), { wordTimes: true }).recognizer);
    timed.push(call().pcm);
    await timed.stream.flush();
    const first = finals(timed.results)[0]!;
    // pcm[0] is 200 ms (pre-roll) before the speech start.
    expect(first.words?.[0]?.startMs).toBe(first.startMs);
    expect(first.words?.[1]?.endMs).toBe(first.startMs + 300);

    const spread = open(scripted(() => ({ text: 'a bbb', words: [{ text: 'a', startMs: 0, endMs: 0, confidence: 0.5 }, { text: 'bbb', startMs: 0, endMs: 0, confidence: 0.7 }] }), { wordTimes: false, wordConfidence: true }).recognizer);
    expect(spread.engine.capabilities).toEqual({ wordTimes: false, wordConfidence: true, interimResults: false });
    spread.push(call().pcm);
    await spread.stream.flush();
    const r = finals(spread.results)[0]!;
    const quarter = Math.round(r.startMs + (r.endMs - r.startMs) / 4);
    expect(r.words).toEqual([
      { text: 'a', startMs: r.startMs, endMs: quarter, confidence: 0.5 },
      { text: 'bbb', startMs: quarter, endMs: r.endMs, confidence: 0.7 },
    ]);
  });

  it('streams partials as interims of the utterance at the head only, when the session wants them', async () => {
    const partials: Behaviour = async ({ index, options }) => {
      options.onPartial?.(`p${index + 1}`);
      await sleep(index === 0 ? 150 : 5);
      options.onPartial?.(`p${index + 1} more`);
      return { text: `p${index + 1} more done` };
    };
    const s = open(scripted(partials, { partials: true }).recognizer, {}, true);
    expect(s.engine.capabilities.interimResults).toBe(true);
    s.push(call().pcm);
    await s.stream.flush();
    // Never an interim of a later utterance before the final of an earlier one.
    let current = 1;
    for (const r of s.results) {
      const n = Number(r.text.match(/^p(\d)/)?.[1]);
      expect(n).toBe(current);
      if (r.isFinal) current++;
    }
    expect(finals(s.results)).toHaveLength(4);
    expect(s.results.some((r) => !r.isFinal)).toBe(true);

    const quiet = open(scripted(partials, { partials: true }).recognizer, {}, false);
    quiet.push(call().pcm);
    await quiet.stream.flush();
    expect(quiet.results.every((r) => r.isFinal)).toBe(true);
  });

  it('passes the previous utterance as context', async () => {
    const { recognizer, calls } = scripted(({ index }) => ({ text: `said ${index + 1}` }));
    const s = open(recognizer, { streamInFlight: 1 });
    s.push(call().pcm);
    await s.stream.flush();
    expect(calls.map((c) => c.options.previousText)).toEqual([undefined, 'said 1', 'said 2', 'said 3']);
  });
});

if (canSpeak) {
  describeEngineContract('utterance engine (scripted recognizer)', () => ({
    engine: createUtteranceEngine(scripted(async ({ index }) => (await sleep(index % 2 ? 5 : 40), { text: `w${index}`, words: [{ text: `w${index}`, startMs: 10, endMs: 90 }] })).recognizer),
    audio: call().pcm,
  }));
}
