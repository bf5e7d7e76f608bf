import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { EngineStreamOptions, SpeechEngine } from '../../src/engines/types.js';
import { parseDuration } from '../../src/protocol/duration.js';
import { ChannelPipeline } from '../../src/session/channel.js';
import { StreamTimeline } from '../../src/session/timeline.js';
import type { TranscriptEntity } from '../../src/transcript/types.js';

/** An engine whose streams the test drives by hand. */
function scriptedEngine(flush: () => Promise<void> = async () => {}) {
  const streams: Array<EngineStreamOptions & { pushed: number; closed: boolean }> = [];
  const engine: SpeechEngine = {
    name: 'scripted',
    capabilities: { interimResults: true, wordTimes: false, wordConfidence: false },
    openStream(options) {
      const s = { ...options, pushed: 0, closed: false };
      streams.push(s);
      return {
        push: (x) => void (s.pushed += x.length),
        flush,
        close: async () => void (s.closed = true),
      };
    },
  };
  return { engine, streams };
}

function setup(interimResults = true, flush?: () => Promise<void>) {
  const { engine, streams } = scriptedEngine(flush);
  const timeline = new StreamTimeline();
  const out: Array<{ entity: TranscriptEntity; isFinal: boolean }> = [];
  const fatal: Error[] = [];
  const ch = new ChannelPipeline({
    channelId: 1,
    engine,
    language: 'en-US',
    interimResults,
    tokenLanguage: 'full',
    timeline,
    log: pino({ level: 'silent' }),
    emit: (entity, isFinal) => out.push({ entity, isFinal }),
    onFatal: (e) => fatal.push(e),
  });
  const feed = (seconds: number) => {
    const n = seconds * 8000;
    ch.push(new Int16Array(n));
    timeline.advance(n);
  };
  return { ch, streams, timeline, out, fatal, feed };
}

describe('ChannelPipeline', () => {
  it('shares one utterance id between interims and their final, then starts a new one', () => {
    const { streams, out } = setup();
    const s = streams[0]!;
    s.onResult({ isFinal: false, text: 'hello', startMs: 0, endMs: 500 });
    s.onResult({ isFinal: true, text: 'hello there', startMs: 0, endMs: 900 });
    s.onResult({ isFinal: true, text: 'next', startMs: 1000, endMs: 1200 });
    expect(out.map((o) => o.isFinal)).toEqual([false, true, true]);
    expect(out[0]!.entity.data.id).toBe(out[1]!.entity.data.id);
    expect(out[2]!.entity.data.id).not.toBe(out[1]!.entity.data.id);
    expect(out[0]!.entity.data.channelId).toBe(1);
  });

  it('drops interims when the session turned them off, and never sends empty text', () => {
    const { streams, out } = setup(false);
    streams[0]!.onResult({ isFinal: false, text: 'hel', startMs: 0, endMs: 300 });
    streams[0]!.onResult({ isFinal: true, text: '  ', startMs: 0, endMs: 300 });
    expect(out).toHaveLength(0);
  });

  it('maps engine times through the timeline and the stream base after a language change', async () => {
    const { ch, streams, timeline, out, feed } = setup();
    feed(2);
    timeline.addGap(10); // a hold of 10 s
    await ch.changeLanguage('es-ES');
    expect(streams).toHaveLength(2);
    expect(streams[0]!.closed).toBe(true);
    expect(streams[1]!.language).toBe('es-ES');
    feed(1);
    streams[1]!.onResult({ isFinal: true, text: 'hola', startMs: 250, endMs: 750 });
    expect(parseDuration(out[0]!.entity.data.offset)).toBeCloseTo(12.25, 3);
    expect(out[0]!.entity.data.alternatives[0]!.languages).toEqual(['es-ES']);
  });

  it('sends audio to the new-language stream at once while the old one is still finalizing', async () => {
    let finishFlush!: () => void;
    const slowFlush = new Promise<void>((r) => (finishFlush = r));
    let flushes = 0;
    // Only the first flush (the old stream's) is slow.
    const { ch, streams, out, feed } = setup(true, () => (flushes++ === 0 ? slowFlush : Promise.resolve()));
    feed(1);
    const change = ch.changeLanguage('de-DE');
    expect(streams).toHaveLength(2);
    // The old stream's flush is still running (a slow vendor).
    feed(0.5);
    expect(streams[0]!.pushed).toBe(8000);
    expect(streams[1]!.pushed).toBe(4000);
    streams[0]!.onResult({ isFinal: true, text: 'late final', startMs: 200, endMs: 900 });
    expect(streams[0]!.closed).toBe(false);
    // A close arriving now waits for the retiring stream's finals too.
    let flushed = false;
    const closing = ch.flush().then(() => (flushed = true));
    await Promise.resolve();
    expect(flushed).toBe(false);
    finishFlush();
    await change;
    await closing;
    expect(streams[0]!.closed).toBe(true);
    expect(out[0]!.entity.data.alternatives[0]!.languages).toEqual(['en-US']);
    expect(parseDuration(out[0]!.entity.data.offset)).toBeCloseTo(0.2, 3);
  });

  it('restarts a failed engine stream after a back-off, and gives up after repeated failures', async () => {
    vi.useFakeTimers();
    try {
      const { ch, streams, out, fatal, feed } = setup();
      feed(1);
      streams[0]!.onError(new Error('vendor hiccup'));
      expect(streams[0]!.closed).toBe(true);
      // This engine keeps no replay (not restartable): audio during the back-off is lost, and counted.
      feed(0.05);
      expect(streams).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(100);
      expect(streams).toHaveLength(2);
      feed(1);
      streams[1]!.onResult({ isFinal: true, text: 'after restart', startMs: 100, endMs: 400 });
      expect(parseDuration(out[0]!.entity.data.offset)).toBeCloseTo(1.15, 3);
      expect(ch.counters).toEqual({ restarts: 1, rotations: 0, failovers: 0, lostSamples: 400 });
      // A late error from the old stream is ignored.
      streams[0]!.onError(new Error('late'));
      await vi.advanceTimersByTimeAsync(5000);
      expect(streams).toHaveLength(2);
      streams[1]!.onError(new Error('2'));
      await vi.advanceTimersByTimeAsync(1000);
      streams[2]!.onError(new Error('3'));
      await vi.advanceTimersByTimeAsync(2000);
      expect(fatal).toHaveLength(0);
      streams[3]!.onError(new Error('4'));
      expect(fatal).toHaveLength(1);
      expect(streams).toHaveLength(4);
    } finally {
      vi.useRealTimers();
    }
  });

  it('delivers nothing after close', async () => {
    const { ch, streams, out } = setup();
    await ch.close();
    expect(streams[0]!.closed).toBe(true);
    streams[0]!.onResult({ isFinal: true, text: 'late', startMs: 0, endMs: 100 });
    expect(out).toHaveLength(0);
  });
});
