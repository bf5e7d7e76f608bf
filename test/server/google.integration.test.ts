/**
 * Whole calls through the real server with the `google` engine: the real Speech SDK against the
 * fake Speech v2 gRPC service, the audio as Genesys sends it (stereo PCMU frames over WebSocket).
 * Words are tone-coded (see fake-google-speech/vocabulary.ts), so every word can be checked to
 * arrive exactly once, on its channel, at its offset.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createGoogleEngine, type GoogleEngine } from '../../src/engines/google/index.js';
import { parseDuration } from '../../src/protocol/duration.js';
import { startFakeGoogleSpeech, type FakeGoogleSpeech } from '../../src/testing/fake-google-speech/server.js';
import { synthesizeWords, type SynthesizedSpeech } from '../../src/testing/fake-google-speech/vocabulary.js';
import { script, stereo } from './tone-calls.js';
import { TestClient, capturingLogger, pcmuFrames, sleep, startTestServer } from './harness.js';

// A fresh fake per test, so that no test sees another's calls or faults.
let fake: FakeGoogleSpeech;
beforeEach(async () => {
  // Google ends a stream after ~5 min and one without audio after ~10 s; here 64 s (the shortest
  // limit the settings take) and 2 s, so that rotation and holds are exercised in seconds.
  fake = await startFakeGoogleSpeech({ streamLimitSeconds: 64, audioTimeoutSeconds: 2 });
});

type Harness = Awaited<ReturnType<typeof startTestServer>> & { google: GoogleEngine };
let h: Harness | undefined;
afterEach(async () => {
  await h?.server.close();
  await h?.google.close();
  await fake.close();
  h = undefined;
});

async function start(env: Record<string, string> = {}, logger?: ReturnType<typeof capturingLogger>['log']): Promise<Harness> {
  const config = loadConfig({ GOOGLE_SPEECH_INSECURE: 'true', GOOGLE_SPEECH_ENDPOINT: fake.address, GOOGLE_STREAM_LIMIT_SECONDS: '64', ...env });
  const google = createGoogleEngine(config.engines.google!);
  // Calls run up to 100× faster than real time: Genesys' 5 events/s would hold most finals back.
  h = { ...(await startTestServer({ RATE_LIMIT_PER_SECOND: '1000', RATE_LIMIT_BURST: '1000' }, google, logger)), google };
  return h;
}

/** Sends frames `speed` times faster than real time. */
async function stream(c: TestClient, frames: Uint8Array[], speed = 50): Promise<void> {
  const perTick = Math.max(1, Math.round(speed / 10)); // 200 ms frames, one tick per 20 ms
  for (let i = 0; i < frames.length; i += perTick) {
    for (const f of frames.slice(i, i + perTick)) c.audio(f);
    await sleep(20);
  }
}

interface Final {
  channelId: number;
  offset: number;
  duration: number;
  words: string[];
  isFinal: boolean;
}
function transcripts(c: TestClient): Final[] {
  return c.transcripts().map((d: any) => ({
    channelId: d.channelId,
    offset: parseDuration(d.offset)!,
    duration: parseDuration(d.duration)!,
    words: (d.alternatives[0].interpretations[0].transcript as string).replace(/[.]/g, '').toLowerCase().split(' '),
    isFinal: d.isFinal,
  }));
}

/** Checks a channel's finals against the script: every word once, in order, each utterance at its offset. */
function expectChannel(got: Final[], speech: SynthesizedSpeech, channelId: number, shiftSeconds = 0): void {
  const finals = got.filter((f) => f.channelId === channelId && f.isFinal);
  expect(finals.flatMap((f) => f.words)).toEqual(speech.spans.flatMap((s) => s.words));
  expect(finals.map((f) => f.words)).toEqual(speech.spans.map((s) => s.words));
  finals.forEach((f, i) => {
    expect(Math.abs(f.offset - (speech.spans[i]!.startMs / 1000 + shiftSeconds)), `utterance ${i} offset ${f.offset}`).toBeLessThan(0.15);
    if (i > 0) expect(f.offset).toBeGreaterThan(finals[i - 1]!.offset + finals[i - 1]!.duration - 0.01);
  });
}

describe('google engine through the server', () => {
  it('transcribes a stereo call: finals on the right channel at the right absolute offsets', async () => {
    const { server, engine } = await start();
    const customer = synthesizeWords(script(4, 0), { leadingSilenceMs: 500 });
    const agent = synthesizeWords(script(4, 10), { leadingSilenceMs: 1300 });
    const c = await TestClient.connect(server.url);
    c.open({ customConfig: { transcriptionVendor: 'google' } });
    await c.waitType('opened');
    expect(engine.open).toBe(2);
    await stream(c, pcmuFrames(stereo(customer, agent)));
    // /stats shows the engine's connections and the call's two streams.
    const stats = (await (await fetch(`${h!.httpUrl}/stats`)).json()) as { engines: Record<string, Record<string, number>> };
    expect(stats.engines['google']).toEqual({ connections: 1, streams: 2 });
    await c.close();
    const got = transcripts(c);
    expectChannel(got, customer, 0);
    expectChannel(got, agent, 1);
    expect(got.every((t) => t.isFinal)).toBe(true);
    // Session end releases every stream: nothing open at the fake, in the pool or in the server.
    expect(engine.open).toBe(0);
    await waitFor(() => fake.activeCalls === 0);
    expect(h!.google.connections.active).toBe(0);
  });

  it('rotates streams before the limit across a long call: no word lost or doubled, offsets continuous', async () => {
    const { logs, log } = captured();
    const { server } = await start({}, log);
    const before = fake.calls.length;
    // About 300 s per channel against a 64 s stream limit: at least 4 rotations each.
    const customer = synthesizeWords(script(150, 3), { leadingSilenceMs: 200 });
    const agent = synthesizeWords(script(150, 7), { leadingSilenceMs: 900 });
    const c = await TestClient.connect(server.url);
    c.open({ customConfig: { transcriptionVendor: 'google' } });
    await c.waitType('opened');
    await stream(c, pcmuFrames(stereo(customer, agent)), 50);
    await c.close();
    const got = transcripts(c);
    expectChannel(got, customer, 0);
    expectChannel(got, agent, 1);
    const calls = fake.calls.slice(before);
    expect(calls.length).toBeGreaterThanOrEqual(2 * 5);
    expect(calls.filter((call) => call.ended === 'OUT_OF_RANGE')).toEqual([]);
    const ended = logs.find((l) => l['msg'] === 'session ended')!;
    expect(ended['engineRotations']).toBeGreaterThanOrEqual(8);
    const rotations = /audiohook_engine_restarts_total\{engine="google",kind="rotation"\} (\d+)/.exec(await server.stats.prometheus.registry.metrics());
    expect(Number(rotations?.[1])).toBe(ended['engineRotations']);
    expect(ended['audioNotTranscribedMs']).toBe(0);
  });

  it('reconnects after UNAVAILABLE mid-utterance and replays the audio: every word once', async () => {
    const { logs, log } = captured();
    const { server } = await start({}, log);
    const customer = synthesizeWords(script(5, 1), { leadingSilenceMs: 300 });
    const agent = synthesizeWords(script(5, 12), { leadingSilenceMs: 300 });
    // Both channels' first streams drop inside their third utterance.
    const mid = (customer.spans[2]!.startMs + customer.spans[2]!.endMs) / 2;
    fake.failNextStreams(2, { code: 14, message: 'The service is currently unavailable.', afterAudioMs: mid });
    const c = await TestClient.connect(server.url);
    c.open({ customConfig: { transcriptionVendor: 'google' } });
    await c.waitType('opened');
    await stream(c, pcmuFrames(stereo(customer, agent)), 20);
    await c.close();
    const got = transcripts(c);
    expectChannel(got, customer, 0);
    expectChannel(got, agent, 1);
    const ended = logs.find((l) => l['msg'] === 'session ended')!;
    expect(ended['engineRestarts']).toBe(2);
    expect(logs.filter((l) => l['msg'] === 'speech engine stream failed; restarting')).toHaveLength(2);
    const metrics = await server.stats.prometheus.registry.metrics();
    expect(metrics).toContain('audiohook_engine_errors_total{engine="google",retryable="true"} 2');
    expect(metrics).toContain('audiohook_engine_restarts_total{engine="google",kind="restart"} 2');
  });

  it('bad credentials end the session once, with a disconnect that says what to fix', async () => {
    const { server, engine } = await start();
    fake.rejectAll({ code: 16, message: 'Request had invalid authentication credentials.' });
    const c = await TestClient.connect(server.url);
    c.open({ customConfig: { transcriptionVendor: 'google' } });
    await c.waitType('opened');
    await stream(c, pcmuFrames(stereo(synthesizeWords([['alpha']]), synthesizeWords([['bravo']]))));
    const d = await c.waitType('disconnect');
    expect(d.parameters).toEqual({
      reason: 'error',
      info: 'speech engine error: Google Speech rejected the credentials (UNAUTHENTICATED): check GOOGLE_APPLICATION_CREDENTIALS',
    });
    c.send('close', { reason: 'disconnect' });
    await c.waitType('closed');
    expect(c.types().filter((t) => t === 'disconnect')).toHaveLength(1);
    expect(engine.open).toBe(0);
  });

  it('holds: no vendor stream stays open while paused, and offsets after the hold include it', async () => {
    const { server } = await start();
    const before = synthesizeWords([['alpha', 'bravo']], { leadingSilenceMs: 300, trailingSilenceMs: 800 });
    const after = synthesizeWords([['charlie'], ['delta', 'echo']], { leadingSilenceMs: 400 });
    const c = await TestClient.connect(server.url);
    c.open({ customConfig: { transcriptionVendor: 'google' } });
    await c.waitType('opened');
    await stream(c, pcmuFrames([before.pcm, before.pcm]));
    c.send('paused');
    // Longer than the fake's audio timeout: a stream left open would fail now.
    await sleep(2500);
    c.send('resumed', { start: `PT${before.pcm.length / 8000}S`, discarded: 'PT600S' });
    await stream(c, pcmuFrames([after.pcm, after.pcm]));
    await c.close();
    const got = transcripts(c).filter((t) => t.channelId === 0);
    expect(got.map((t) => t.words)).toEqual([['alpha', 'bravo'], ['charlie'], ['delta', 'echo']]);
    const holdEnd = before.pcm.length / 8000 + 600;
    expect(got[1]!.offset).toBeCloseTo(holdEnd + after.spans[0]!.startMs / 1000, 1);
    expect(got[2]!.offset).toBeCloseTo(holdEnd + after.spans[1]!.startMs / 1000, 1);
    expect(fake.calls.filter((call) => call.ended === 'OUT_OF_RANGE')).toEqual([]);
  });

  it('pause and discard before any speech shift the offsets that follow', async () => {
    const { server } = await start();
    const speech = synthesizeWords([['foxtrot'], ['golf']], { leadingSilenceMs: 500 });
    const c = await TestClient.connect(server.url);
    c.open({ customConfig: { transcriptionVendor: 'google' } });
    await c.waitType('opened');
    c.send('paused');
    c.send('resumed', { start: 'PT0S', discarded: 'PT5S' });
    c.send('discarded', { start: 'PT5S', discarded: 'PT3S' });
    await stream(c, pcmuFrames([speech.pcm, speech.pcm]));
    await c.close();
    expectChannel(transcripts(c), speech, 0, 8);
  });

  it('sends interims only to sessions that want them', async () => {
    const { server } = await start();
    const speech = synthesizeWords([['hotel', 'india', 'juliett', 'kilo']], { leadingSilenceMs: 300, trailingSilenceMs: 800 });
    const frames = pcmuFrames([speech.pcm, speech.pcm]);
    for (const interimResults of [true, false]) {
      const c = await TestClient.connect(server.url);
      c.open({ customConfig: { transcriptionVendor: 'google', interimResults } });
      await c.waitType('opened');
      await stream(c, frames, 10);
      await c.close();
      const got = transcripts(c);
      expect(got.some((t) => !t.isFinal)).toBe(interimResults);
      expect(got.filter((t) => t.isFinal).map((t) => t.words)).toEqual([speech.spans[0]!.words, speech.spans[0]!.words]);
    }
  });

  it('a dropped socket releases every vendor stream', async () => {
    const { server, engine } = await start();
    const c = await TestClient.connect(server.url);
    c.open({ customConfig: { transcriptionVendor: 'google' } });
    await c.waitType('opened');
    await stream(c, pcmuFrames([new Int16Array(8000), new Int16Array(8000)]));
    await waitFor(() => fake.activeCalls === 2);
    c.ws.terminate();
    await waitFor(() => engine.open === 0 && fake.activeCalls === 0);
    expect(h!.google.connections.active).toBe(0);
  });
});

function captured() {
  const { log, lines } = capturingLogger('debug');
  return { log, logs: lines };
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(10);
  }
}
