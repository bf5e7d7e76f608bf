/** The client's parts on their own: the pacer's clock and pauses, and answering 429 as Genesys does. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeWav } from '../../src/audio/wav.js';
import { parseSimulateArgs, UsageError } from '../../src/cli/args.js';
import { silenceSource } from '../../src/cli/client/audio-source.js';
import { createPacer, framesToStream } from '../../src/cli/client/pacer.js';
import { EMPTY_SCRIPT, type CallScript } from '../../src/cli/client/script.js';
import { reply, run, startFakeServer } from './helpers.js';

describe('pacer', () => {
  const frames = Array.from({ length: 10 }, (_, i) => Buffer.from([i]));
  function pacerWith(script: CallScript, totalFrames = 10) {
    const log: string[] = [];
    const pacer = createPacer({
      fileFrames: frames.length,
      totalFrames,
      speed: 2, // 100 ms per frame
      script,
      send: (type, p) => log.push(`${type} ${JSON.stringify(p)}`),
      sendFrame: (frame, index) => log.push(`frame ${index}:${frame[0]}`),
      notice: () => undefined,
    });
    return { pacer, log };
  }

  it('sends the frames due on the stream clock, catching up after a late tick, and ends after the last', () => {
    const { pacer, log } = pacerWith(EMPTY_SCRIPT, 13);
    pacer.start(1000, frames, undefined);
    expect(pacer.tick(1000)).toBe(false);
    expect(pacer.tick(1099)).toBe(false);
    expect(log).toEqual(['frame 0:0']);
    expect(pacer.tick(1350)).toBe(false); // late: frames 1–3 at once
    expect(log).toEqual(['frame 0:0', 'frame 1:1', 'frame 2:2', 'frame 3:3']);
    expect(pacer.tick(2250)).toBe(false); // frames 4–12, the file looped for the last three
    expect(log.slice(-3)).toEqual(['frame 10:0', 'frame 11:1', 'frame 12:2']);
    expect(pacer.tick(2300)).toBe(true); // the 13th frame's 100 ms are over
    expect([pacer.framesSent, pacer.position()]).toEqual([13, 13 * 0.2]);
  });

  it('resumes only when neither side holds the stream, declaring the whole gap once', () => {
    const { pacer, log } = pacerWith({ pauseAt: 0.4, resumeAt: 1.2, discards: [], languageUpdates: [] });
    pacer.start(1000, frames, undefined);
    pacer.tick(1150); // frames 0, 1
    pacer.serverPause(); // at 0.4 s
    pacer.tick(1450); // frames 2–4: the script pauses too (a duplicate `paused`), nothing sent
    pacer.serverResume(); // the script still holds the stream
    pacer.tick(1650); // frame 6: the script resumes
    expect(log).toEqual([
      'frame 0:0', 'frame 1:1',
      'paused {}',
      'paused {}',
      'resumed {"start":"PT0.4S","discarded":"PT0.8S"}',
      'frame 6:6',
    ]);
  });

  it('starts at opened.discardTo and declares a scripted discard before the audio after it', () => {
    const { pacer, log } = pacerWith({ discards: [{ at: 1.2, duration: 0.4 }], languageUpdates: [] });
    pacer.start(0, frames, 1);
    pacer.tick(1000);
    expect(log).toEqual(['frame 5:5', 'discarded {"start":"PT1.2S","discarded":"PT0.4S"}', 'frame 8:8', 'frame 9:9']);
  });

  it('streams the file, a cut of it, or it looped up to a duration', () => {
    const source = silenceSource(2); // 10 frames
    expect(framesToStream(source, undefined, false)).toBe(10);
    expect(framesToStream(source, 1, false)).toBe(5);
    expect(framesToStream(source, 5, false)).toBe(10);
    expect(framesToStream(source, 5, true)).toBe(25);
    expect(framesToStream(undefined, undefined, false)).toBe(0);
  });
});

describe('--answer-429', () => {
  let fake: Awaited<ReturnType<typeof startFakeServer>> | undefined;
  let wav: string;
  beforeAll(() => {
    wav = join(mkdtempSync(join(tmpdir(), 'cli-429-')), 'silence.wav');
    writeFileSync(wav, writeWav({ sampleRate: 8000, channels: 2, format: 'PCMU', data: new Uint8Array(16000 * 2).fill(0xff) }));
  });
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  const STEREO = { type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 };
  const event = (n: number) => ({
    entities: [{
      type: 'transcript',
      data: {
        id: `u${n}`, channelId: 0, isFinal: true, offset: 'PT0.5S', duration: 'PT1S',
        alternatives: [{ confidence: 0.9, interpretations: [{ type: 'display', transcript: 'hello' }] }],
      },
    }],
  });
  type Handler = Parameters<typeof startFakeServer>[0];
  /** Opens, sends `burst` events at once, answers pings and close; `on429` sees each 429. */
  function burstServer(burst: number, on429: Handler): Handler {
    let sent = 0;
    return (msg, ws, state) => {
      if (msg.type === 'open') {
        reply(ws, state, msg, 'opened', { media: [STEREO], startPaused: false });
        while (sent < burst) reply(ws, state, msg, 'event', event(++sent));
      } else if (msg.type === 'ping') reply(ws, state, msg, 'pong');
      else if (msg.type === 'close') reply(ws, state, msg, 'closed');
      else if (msg.type === 'error' && (msg.parameters as { code: number }).code === 429) on429(msg, ws, state);
    };
  }

  it('parses a positive number of seconds', () => {
    expect(parseSimulateArgs(['--answer-429', 'PT0.5S', 'x.wav'], {})?.answer429).toBe(0.5);
    expect(parseSimulateArgs(['x.wav'], {})?.answer429).toBeUndefined();
    expect(() => parseSimulateArgs(['--answer-429', '0', 'x.wav'], {})).toThrow(UsageError);
  });

  it('answers each event over 5/s (burst 25) with 429 retryAfter, and passes a server that holds', async () => {
    const errors: Array<Record<string, unknown>> = [];
    let answered = false;
    fake = await startFakeServer(
      burstServer(30, (msg, ws, state) => {
        errors.push(msg.parameters as Record<string, unknown>);
        if (answered) return;
        answered = true;
        // The next event once the hold is over.
        setTimeout(() => reply(ws, state, msg, 'event', event(31)), 350);
      }),
    );
    const r = await run(['--url', fake.url, '--speed', '4', '--answer-429', '0.3', '--json', wav]);
    expect(r.code, r.out.join('\n')).toBe(0);
    expect(errors).toHaveLength(5);
    expect(errors[0]).toEqual({ code: 429, message: 'Too many requests', retryAfter: 'PT0.3S' });
    expect(r.json.find((l) => l.type === 'summary')).toMatchObject({ events: 31, rateLimitExceeded: 5, rateLimitAnswers: 5, protocolErrors: [] });
  });

  it('fails a server that sends an event during the hold it was asked for', async () => {
    let answered = false;
    fake = await startFakeServer(
      burstServer(26, (msg, ws, state) => {
        if (answered) return;
        answered = true;
        reply(ws, state, msg, 'event', event(27)); // written after reading the 429: clientseq says so
      }),
    );
    const r = await run(['--url', fake.url, '--speed', '4', '--answer-429', '0.3', '--json', wav]);
    expect(r.code).toBe(1);
    expect(r.json.find((l) => l.type === 'summary')?.protocolErrors).toEqual(['event seq 28 sent during the 0.3 s hold asked for by 429 (seq 2)']);
  });

  it('accepts a closed whose clientseq is a 429 sent after the close', async () => {
    fake = await startFakeServer((msg, ws, state) => {
      if (msg.type === 'open') {
        reply(ws, state, msg, 'opened', { media: [STEREO], startPaused: false });
      } else if (msg.type === 'close') {
        // The last finals, flushed at close: one over the burst.
        for (let n = 1; n <= 26; n++) reply(ws, state, msg, 'event', event(n));
      } else if (msg.type === 'error') {
        reply(ws, state, msg, 'closed'); // after reading the 429 that answered it
      }
    });
    const r = await run(['--url', fake.url, '--speed', '4', '--answer-429', '0.3', '--json', wav]);
    expect(r.code, r.out.join('\n')).toBe(0);
    expect(r.json.find((l) => l.type === 'summary')).toMatchObject({ closed: true, rateLimitAnswers: 1, protocolErrors: [] });
  });
});
