/**
 * Engine-stream restarts and rotations with replay: the pipeline gives a replacement stream the
 * audio no final covers yet, so no word is lost or doubled, and times stay on the call's timeline.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ReplayBuffer } from '../../src/engines/kit/replay.js';
import { EngineError, type EngineStreamOptions, type SpeechEngine } from '../../src/engines/types.js';
import { parseDuration } from '../../src/protocol/duration.js';
import { ChannelPipeline } from '../../src/session/channel.js';
import { StreamTimeline } from '../../src/session/timeline.js';
import type { TranscriptEntity } from '../../src/transcript/types.js';

/** Streams that keep every sample pushed into them (values, not just counts). */
function recordingEngine(maxStreamMs?: number) {
  const streams: Array<EngineStreamOptions & { audio: number[]; closed: boolean; flushed: number }> = [];
  const engine: SpeechEngine = {
    name: 'recording',
    capabilities: { interimResults: true, wordTimes: false, wordConfidence: false, restartable: true, ...(maxStreamMs ? { maxStreamMs } : {}) },
    openStream(options) {
      const s = { ...options, audio: [] as number[], closed: false, flushed: 0 };
      streams.push(s);
      return {
        push: (x) => void s.audio.push(...x),
        flush: async () => void (s.flushed += 1),
        close: async () => void (s.closed = true),
      };
    },
  };
  return { engine, streams };
}

function setup(maxStreamMs?: number, extra: { stallMs?: number } = {}) {
  const { engine, streams } = recordingEngine(maxStreamMs);
  const timeline = new StreamTimeline();
  const out: Array<{ entity: TranscriptEntity; isFinal: boolean }> = [];
  const fatal: Error[] = [];
  const ch = new ChannelPipeline({
    channelId: 0,
    engine,
    language: 'en-US',
    interimResults: true,
    tokenLanguage: 'full',
    timeline,
    log: pino({ level: 'silent' }),
    emit: (entity, isFinal) => out.push({ entity, isFinal }),
    onFatal: (e) => fatal.push(e),
    ...extra,
  });
  let next = 0;
  /** Feeds `seconds` of audio whose sample values count up, so replayed audio can be recognised. */
  const feed = (seconds: number, frameSeconds = 0.2) => {
    for (let done = 0; done < seconds - 1e-9; done += frameSeconds) {
      const n = Math.round(frameSeconds * 8000);
      const frame = new Int16Array(n);
      for (let i = 0; i < n; i++) frame[i] = (next++ % 30000) as number;
      ch.push(frame);
      frame.fill(-1); // the session reuses its scratch memory: the pipeline must have copied
      timeline.advance(n);
    }
  };
  return { ch, streams, timeline, out, fatal, feed };
}

afterEach(() => void vi.useRealTimers());

describe('ReplayBuffer', () => {
  it('keeps what no final covers, caps it and counts what the cap drops', () => {
    const r = new ReplayBuffer(1000);
    r.append(Int16Array.from({ length: 400 }, (_, i) => i), 0);
    r.append(Int16Array.from({ length: 400 }, (_, i) => 400 + i), 400);
    r.discardBefore(250);
    expect([r.start, r.end, r.samples]).toEqual([250, 800, 550]);
    expect([...r.read()].flatMap((a) => [...a])[0]).toBe(250);
    r.append(new Int16Array(600), 800);
    expect(r.samples).toBe(1000);
    expect(r.droppedSamples).toBe(150);
    expect(r.start).toBe(400);
    r.discardBefore(5000);
    expect([r.samples, r.start]).toEqual([0, 1400]);
  });
});

describe('ReplayBuffer across its one-second blocks', () => {
  it('gives back exactly the samples after a discard, in order, across block edges', () => {
    const r = new ReplayBuffer(30 * 8000);
    let next = 0;
    for (let f = 0; f < 17; f++) r.append(Int16Array.from({ length: 1600 }, () => next++ % 30000), f * 1600);
    r.discardBefore(10_401);
    const held = [...r.read()].flatMap((a) => [...a]);
    expect(held).toHaveLength(17 * 1600 - 10_401);
    expect(held.every((v, i) => v === (10_401 + i) % 30000)).toBe(true);
    r.discardBefore(17 * 1600);
    expect([r.samples, [...r.read()].length]).toEqual([0, 0]);
    r.append(new Int16Array(5), 17 * 1600);
    expect([r.start, r.end]).toEqual([27_200, 27_205]);
    r.clear();
    expect([r.samples, r.start]).toEqual([0, 27_205]);
  });
});

describe('ChannelPipeline restarts with replay', () => {
  it('gives the new stream the audio after the last final, re-based onto the call', async () => {
    vi.useFakeTimers();
    const { ch, streams, out, feed } = setup();
    feed(3);
    streams[0]!.onResult({ isFinal: true, text: 'first words', startMs: 200, endMs: 1800 });
    streams[0]!.onResult({ isFinal: false, text: 'second', startMs: 2000, endMs: 2600 });
    streams[0]!.onError(new EngineError('UNAVAILABLE', 'unavailable', true));
    feed(0.4); // arrives during the back-off
    await vi.advanceTimersByTimeAsync(100);
    expect(streams).toHaveLength(2);
    // Replay = everything from the final's end (sample 14400) to now (3.4 s = 27200).
    const replay = streams[1]!.audio;
    expect(replay.length).toBe(27200 - 14400);
    expect(replay[0]).toBe(14400);
    expect(replay[replay.length - 1]).toBe(27199);
    // Times of the new stream are relative to its first (replayed) sample.
    streams[1]!.onResult({ isFinal: true, text: 'second part', startMs: 250, endMs: 1000 });
    const last = out[out.length - 1]!;
    expect(parseDuration(last.entity.data.offset)).toBeCloseTo(1.8 + 0.25, 3);
    // The interim the old stream sent and the final of its replacement share the utterance id.
    expect(last.entity.data.id).toBe(out[1]!.entity.data.id);
    expect(ch.counters.restarts).toBe(1);
  });

  it('drops replay audio the engine says is settled (silence), so a restart starts there', async () => {
    vi.useFakeTimers();
    const { streams, feed } = setup();
    feed(10);
    streams[0]!.onSettled!(9000);
    streams[0]!.onError(new EngineError('drop', 'unavailable', true));
    await vi.advanceTimersByTimeAsync(100);
    expect(streams[1]!.audio.length).toBe(8000);
    expect(streams[1]!.audio[0]).toBe(72000 % 30000);
  });

  it('ends the session at once on a non-retryable error, and ignores the dead stream after', () => {
    const { streams, fatal, feed } = setup();
    feed(1);
    const err = new EngineError('bad credentials', 'auth', false);
    streams[0]!.onError(err);
    expect(fatal).toEqual([err]);
    streams[0]!.onError(new Error('again'));
    expect(fatal).toHaveLength(1);
    expect(streams).toHaveLength(1);
  });

  it('flush during the back-off restarts at once so the pending audio is finalized', async () => {
    vi.useFakeTimers();
    const { ch, streams, feed } = setup();
    feed(1);
    streams[0]!.onError(new EngineError('drop', 'unavailable', true));
    await ch.flush();
    expect(streams).toHaveLength(2);
    expect(streams[1]!.audio.length).toBe(8000);
    expect(streams[1]!.flushed).toBe(1);
  });

  it('a language change during the back-off recognizes the pending audio in the old language, then starts the new one', async () => {
    const { ch, streams, feed } = setup();
    feed(1);
    streams[0]!.onError(new EngineError('drop', 'unavailable', true));
    feed(0.4); // waits in the replay buffer for the restart
    await ch.changeLanguage('de-DE');
    expect(streams.map((s) => s.language)).toEqual(['en-US', 'en-US', 'de-DE']);
    expect(streams[1]!.audio).toHaveLength(11200); // the unfinalized 1.4 s, in the old language
    expect(streams[1]!.flushed).toBe(1);
    expect(streams[1]!.closed).toBe(true);
    feed(0.2);
    expect(streams[2]!.audio).toHaveLength(1600);
    expect(ch.language).toBe('de-DE');
  });
});

describe('ChannelPipeline rotation before a vendor stream limit', () => {
  it('rotates at the first final past 80 % of the limit, replaying only what follows that final', () => {
    const { ch, streams, out, feed } = setup(10_000);
    feed(7);
    streams[0]!.onResult({ isFinal: true, text: 'early', startMs: 1000, endMs: 2000 });
    expect(streams).toHaveLength(1); // 7 s < 8 s: no rotation yet
    feed(2);
    streams[0]!.onResult({ isFinal: true, text: 'late', startMs: 7000, endMs: 8500 });
    expect(streams).toHaveLength(2);
    expect(streams[0]!.closed).toBe(true);
    expect(streams[1]!.audio.length).toBe(9 * 8000 - 8.5 * 8000);
    expect(streams[1]!.audio[0]).toBe(68000 % 30000);
    // A late result of the replaced stream is dropped: its replacement recognizes that audio again.
    streams[0]!.onResult({ isFinal: true, text: 'doubled?', startMs: 8600, endMs: 8900 });
    streams[1]!.onResult({ isFinal: true, text: 'next', startMs: 100, endMs: 400 });
    expect(out.map((o) => o.entity.data.alternatives[0]!.interpretations[0]!.transcript)).toEqual(['early', 'late', 'next']);
    expect(parseDuration(out[2]!.entity.data.offset)).toBeCloseTo(8.6, 3);
    expect(ch.counters.rotations).toBe(1);
  });

  it('rotates without a pause at 95 % of the limit, keeping the unfinalized audio', () => {
    const { streams, feed } = setup(40_000);
    feed(30);
    streams[0]!.onResult({ isFinal: true, text: 'x', startMs: 26_000, endMs: 27_000 });
    expect(streams).toHaveLength(1); // 30 s < 32 s: no rotation at this final
    feed(8.2);
    expect(streams).toHaveLength(2);
    expect(streams[0]!.closed).toBe(true);
    expect(streams[0]!.flushed).toBe(0);
    expect(streams[1]!.audio.length).toBe(Math.round((38.2 - 27) * 8000));
  });

  it('flushes instead when the unfinalized audio is itself near the limit (results far behind)', async () => {
    const { streams, feed } = setup(10_000);
    feed(9.6);
    expect(streams).toHaveLength(2);
    // Replaying 9.6 s would leave the new stream nearly as old: the old one finalizes what it heard.
    expect(streams[0]!.flushed).toBe(1);
    expect(streams[1]!.audio.length).toBe(0);
    await Promise.resolve();
    await Promise.resolve();
    expect(streams[0]!.closed).toBe(true);
    feed(0.2);
    expect(streams[1]!.audio.length).toBe(1600);
  });

  it('counts a flushed stream as fresh (its vendor stream ended)', async () => {
    const { ch, streams, feed } = setup(10_000);
    feed(7);
    await ch.flush();
    feed(2.6);
    expect(streams).toHaveLength(1);
  });
});

describe('stall watch', () => {
  it('restarts a stream that takes audio and answers nothing for stallMs, replaying its audio; a flushed stream on hold is no stall', async () => {
    vi.useFakeTimers();
    const { ch, streams, feed } = setup(undefined, { stallMs: 2000 });
    feed(1);
    // Answered: a final covering the first 0.6 s.
    streams[0]!.onResult({ isFinal: true, text: 'one', startMs: 0, endMs: 600 });
    feed(1);
    await vi.advanceTimersByTimeAsync(1900);
    expect(streams).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(700); // 2.6 s without an answer, with audio given since
    await vi.advanceTimersByTimeAsync(200); // the first restart's back-off
    expect(streams).toHaveLength(2);
    expect(streams[0]!.closed).toBe(true);
    // The replacement got what no final covered: 0.6 s .. 2 s.
    expect(streams[1]!.audio.length).toBe(8000 * 1.4);
    expect(streams[1]!.audio[0]).toBe(0.6 * 8000);
    // More audio, then a pause: flushed (the engine answers with nothing), then a long hold without audio.
    feed(0.4);
    await ch.flush();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(streams).toHaveLength(2);
    expect(ch.counters.restarts).toBe(1);
    await ch.close();
  });
});

