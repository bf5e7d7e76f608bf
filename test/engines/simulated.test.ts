import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createSimulatedEngine, type SimulatedEngineOptions } from '../../src/engines/simulated/index.js';
import type { EngineStream, RecognitionResult } from '../../src/engines/types.js';
import { decodeMulaw, encodeMulaw } from '../../src/audio/mulaw.js';
import { concatPcm } from './kit/speech.js';

const RATE = 8000;
const log = pino({ level: 'silent' });

// --- PCM16 generators (8 kHz mono) ---------------------------------------------------------
const silence = (ms: number): Int16Array => new Int16Array((ms * RATE) / 1000);

/** Sine with the given peak level in dBFS. */
function tone(ms: number, dbfs = -12, hz = 440): Int16Array {
  const out = new Int16Array((ms * RATE) / 1000);
  const amp = 32767 * 10 ** (dbfs / 20);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(amp * Math.sin((2 * Math.PI * hz * i) / RATE));
  return out;
}

/** Deterministic uniform noise with the given RMS level in dBFS. */
function noise(ms: number, dbfs: number, seed = 1): Int16Array {
  const out = new Int16Array((ms * RATE) / 1000);
  const amp = 32768 * 10 ** (dbfs / 20) * Math.sqrt(3); // uniform [-a, a] has RMS a/√3
  let x = seed;
  for (let i = 0; i < out.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = Math.round(amp * ((x / 0x7fffffff) * 2 - 1));
  }
  return out;
}


/** Adds b onto a (same length or shorter), saturating. */
function mix(a: Int16Array, b: Int16Array): Int16Array {
  const out = Int16Array.from(a);
  for (let i = 0; i < b.length && i < out.length; i++) out[i] = Math.max(-32768, Math.min(32767, (out[i] ?? 0) + (b[i] ?? 0)));
  return out;
}

// --- harness ----------------------------------------------------------------------------------
function open(interimResults = false, options?: SimulatedEngineOptions): { stream: EngineStream; results: RecognitionResult[] } {
  const results: RecognitionResult[] = [];
  const stream = createSimulatedEngine(options).openStream({
    language: 'en-US',
    sampleRate: RATE,
    interimResults,
    onResult: (r) => results.push(r),
    onError: (e) => {
      throw e;
    },
    log,
  });
  return { stream, results };
}

function pushInFrames(stream: EngineStream, audio: Int16Array, frame: number): void {
  for (let i = 0; i < audio.length; i += frame) stream.push(audio.subarray(i, Math.min(audio.length, i + frame)));
}

function run(audio: Int16Array, frame = 1600, interim = false, options?: SimulatedEngineOptions): RecognitionResult[] {
  const { stream, results } = open(interim, options);
  pushInFrames(stream, audio, frame);
  return results;
}

const finals = (rs: RecognitionResult[]): RecognitionResult[] => rs.filter((r) => r.isFinal);

describe('simulated engine', () => {
  it('declares itself', () => {
    const engine = createSimulatedEngine();
    expect(engine.name).toBe('simulated');
    expect(engine.capabilities).toEqual({ interimResults: true, wordTimes: true, wordConfidence: false, mulawInput: true });
  });

  it('finds nothing in silence or in low noise', () => {
    expect(run(silence(5000))).toEqual([]);
    expect(run(noise(10000, -60))).toEqual([]);
  });

  it('reports a 1 s tone as one final with its span, text and placeholder words', () => {
    const results = run(concatPcm(silence(500), tone(1000), silence(1500)));
    expect(results).toHaveLength(1);
    const r = results[0] as RecognitionResult;
    expect(r.isFinal).toBe(true);
    expect(r.text).toBe('[speech 1.0 s]');
    expect(r.confidence).toBe(1);
    expect(Math.abs(r.startMs - 500)).toBeLessThanOrEqual(40);
    expect(Math.abs(r.endMs - 1500)).toBeLessThanOrEqual(40);
    expect(r.words?.map((w) => w.text)).toEqual(['[speech', '1.0', 's]']);
    expect(r.words?.[0]?.startMs).toBe(r.startMs);
    expect(r.words?.[2]?.endMs).toBe(r.endMs);
    const starts = r.words?.map((w) => w.startMs) ?? [];
    expect(starts[0]).toBeLessThan(starts[1] ?? 0);
    expect(starts[1]).toBeLessThan(starts[2] ?? 0);
  });

  it('finds a tone over a low noise floor, and adapts to a constant noise above the threshold', () => {
    const quiet = run(mix(concatPcm(silence(1000), tone(1400), silence(1600)), noise(4000, -60)));
    expect(finals(quiet).map((r) => r.text)).toEqual(['[speech 1.4 s]']);

    // -30 dBFS hiss is above the -40 dBFS threshold: after the floor adapts it is not speech.
    const hiss = noise(30000, -30, 7);
    const withTone = mix(hiss, concatPcm(silence(20000), tone(1000, -6), silence(9000)));
    const results = finals(run(withTone));
    const last = results.at(-1) as RecognitionResult;
    expect(Math.abs(last.startMs - 20000)).toBeLessThanOrEqual(40);
    expect(Math.abs(last.endMs - 21000)).toBeLessThanOrEqual(40);
    // At most one adaptation artefact at the very start.
    expect(results.length).toBeLessThanOrEqual(2);
    if (results.length === 2) expect(results[0]?.endMs).toBeLessThan(6000);
  });

  it('joins speech-like bursts with short pauses and separates long pauses', () => {
    const burst = (): Int16Array => concatPcm(tone(250, -15, 300), silence(150), tone(300, -18, 500));
    const audio = concatPcm(silence(300), burst(), silence(200), burst(), silence(1200), burst(), silence(1000));
    const results = run(audio);
    expect(results).toHaveLength(2);
    expect(Math.abs((results[0]?.startMs ?? 0) - 300)).toBeLessThanOrEqual(40);
    expect(Math.abs((results[0]?.endMs ?? 0) - 1900)).toBeLessThanOrEqual(40);
    expect(results[0]?.text).toBe('[speech 1.6 s]');
    expect(Math.abs((results[1]?.startMs ?? 0) - 3100)).toBeLessThanOrEqual(40);
    expect(Math.abs((results[1]?.endMs ?? 0) - 3800)).toBeLessThanOrEqual(40);
  });

  it('ignores blips shorter than minSpeechMs', () => {
    expect(run(concatPcm(silence(200), tone(60), silence(1000)))).toEqual([]);
  });

  it('emits interims every second of speech when asked, none otherwise', () => {
    const audio = concatPcm(silence(200), tone(3500), silence(1000));
    const withInterims = run(audio, 1600, true);
    const interims = withInterims.filter((r) => !r.isFinal);
    expect(interims.map((r) => r.text)).toEqual(['[speech 1.0 s]', '[speech 2.0 s]', '[speech 3.0 s]']);
    expect(interims.every((r) => Math.abs(r.startMs - 200) <= 40)).toBe(true);
    expect(withInterims.at(-1)?.isFinal).toBe(true);
    expect(withInterims.at(-1)?.text).toBe('[speech 3.5 s]');
    expect(run(audio, 1600, false).every((r) => r.isFinal)).toBe(true);
    expect(run(audio, 1600, true, { interimEveryMs: 500 }).filter((r) => !r.isFinal)).toHaveLength(7);
  });

  it('force-ends long utterances at maxUtteranceMs', () => {
    const results = run(concatPcm(tone(5000), silence(1000)), 1600, false, { maxUtteranceMs: 2000 });
    expect(results.map((r) => r.text)).toEqual(['[speech 2.0 s]', '[speech 2.0 s]', '[speech 1.0 s]']);
    expect(results.map((r) => r.startMs)).toEqual([0, 2000, 4000]);
  });

  it('flush ends an utterance in progress before resolving; the stream stays usable', async () => {
    const { stream, results } = open();
    stream.push(concatPcm(silence(300), tone(800)));
    expect(results).toEqual([]);
    const done = stream.flush();
    expect(results).toHaveLength(1); // delivered synchronously
    await done;
    expect(results[0]?.text).toBe('[speech 0.8 s]');
    expect(Math.abs((results[0]?.endMs ?? 0) - 1100)).toBeLessThanOrEqual(40);
    await stream.flush(); // nothing pending: no result
    expect(results).toHaveLength(1);
    stream.push(concatPcm(silence(500), tone(500), silence(1000)));
    expect(results).toHaveLength(2);
    expect(Math.abs((results[1]?.startMs ?? 0) - 1600)).toBeLessThanOrEqual(40);
  });

  it('gives the same results for odd frame sizes as for 200 ms frames', () => {
    const burst = concatPcm(tone(250, -15, 300), silence(150), tone(300, -18, 500));
    const audio = mix(concatPcm(silence(700), burst, silence(900), tone(2300), silence(700), burst, silence(800)), noise(8000, -55));
    const reference = run(audio, 1600, true);
    expect(reference.length).toBeGreaterThan(3);
    expect(run(audio, 37, true)).toEqual(reference);
    expect(run(audio, 1, true)).toEqual(reference);
    expect(run(audio, 4001, true)).toEqual(reference);
  });

  it('gives the same results from µ-law bytes (pushMulaw) as from the same audio decoded', () => {
    const burst = concatPcm(tone(250, -15, 300), silence(150), tone(300, -18, 500));
    const bytes = encodeMulaw(mix(concatPcm(silence(700), burst, silence(900), tone(2300), silence(800)), noise(5050, -55)));
    const reference = run(decodeMulaw(bytes), 1600, true);
    expect(finals(reference)).toHaveLength(2);
    for (const frame of [1600, 37]) {
      const { stream, results } = open(true);
      for (let i = 0; i < bytes.length; i += frame) stream.pushMulaw!(bytes.subarray(i, Math.min(bytes.length, i + frame)), 0, 1);
      expect(results).toEqual(reference);
    }
    // The same channel read in place from an interleaved stereo frame (the other channel is loud noise).
    const other = encodeMulaw(noise(5050, -6, 7));
    const stereo = new Uint8Array(bytes.length * 2);
    for (let i = 0; i < bytes.length; i++) {
      stereo[2 * i] = other[i]!;
      stereo[2 * i + 1] = bytes[i]!;
    }
    const { stream, results } = open(true);
    for (let i = 0; i < stereo.length; i += 3200) stream.pushMulaw!(stereo.subarray(i, Math.min(stereo.length, i + 3200)), 1, 2);
    expect(results).toEqual(reference);
  });

  it('close stops results', async () => {
    const { stream, results } = open(true);
    stream.push(concatPcm(silence(200), tone(600)));
    await stream.close();
    stream.push(concatPcm(tone(2000), silence(1000)));
    await stream.flush();
    expect(results).toEqual([]);
  });

  it('keeps working when the consumer throws', () => {
    let calls = 0;
    const stream = createSimulatedEngine().openStream({
      language: 'en-US', sampleRate: RATE, interimResults: false, log, onError: () => {},
      onResult: () => {
        calls++;
        throw new Error('consumer bug');
      },
    });
    const audio = concatPcm(tone(500), silence(1000), tone(500), silence(1000));
    expect(() => stream.push(audio)).not.toThrow();
    expect(calls).toBe(2);
  });

  it('processes 60 s of varied audio without throwing', () => {
    const parts: Int16Array[] = [];
    for (let i = 0; i < 20; i++) parts.push(tone(400 + 137 * (i % 7), -10 - (i % 20)), silence(300 + 211 * (i % 5)));
    const audio = mix(concatPcm(...parts, silence(60000)).subarray(0, 60 * RATE), noise(60000, -58));
    const results = run(audio, 160, true);
    expect(finals(results).length).toBeGreaterThan(5);
    for (const r of results) expect(r.endMs).toBeGreaterThanOrEqual(r.startMs);
  });
});
