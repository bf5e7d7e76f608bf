/**
 * Vendor faults through the real server: the real Speech SDK against the fake Speech v2 service.
 * The fallback is a second Google engine (`backup`, another region, say) on a second, healthy
 * fake, so that every word can be checked across the failover. A call whose engine cannot recover
 * — refused, down for the whole call — goes on from the same point of its timeline: every word
 * once, at its offset, whichever engine recognized it. A stalled stream is restarted with its
 * audio replayed. Without a fallback, one clear `disconnect`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createGoogleEngine, type GoogleEngine } from '../../src/engines/google/index.js';
import { createEngineRegistry } from '../../src/engines/registry.js';
import { createSimulatedEngine } from '../../src/engines/simulated/index.js';
import { parseDuration } from '../../src/protocol/duration.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { startFakeGoogleSpeech, type FakeGoogleSpeech } from '../../src/testing/fake-google-speech/server.js';
import { synthesizeWords, type SynthesizedSpeech } from '../../src/testing/fake-google-speech/vocabulary.js';
import { script, stereo } from './tone-calls.js';
import { API_KEY, CLIENT_SECRET, capturingLogger, countingEngine, pcmuFrames, sleep, TestClient } from './harness.js';

let fake: FakeGoogleSpeech;
let backupFake: FakeGoogleSpeech;
let server: RunningServer | undefined;
let google: GoogleEngine[] = [];
beforeEach(async () => {
  fake = await startFakeGoogleSpeech({ streamLimitSeconds: 60, audioTimeoutSeconds: 5 });
  backupFake = await startFakeGoogleSpeech({ streamLimitSeconds: 60, audioTimeoutSeconds: 5 });
});
afterEach(async () => {
  await server?.close();
  for (const g of google) await g.close();
  await fake.close();
  await backupFake.close();
  server = undefined;
  google = [];
});

async function start(env: Record<string, string> = {}) {
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    GENESYS_API_KEY: API_KEY,
    GENESYS_CLIENT_SECRET: CLIENT_SECRET,
    GOOGLE_SPEECH_INSECURE: 'true',
    GOOGLE_SPEECH_ENDPOINT: fake.address,
    DEFAULT_SPEECH_PROVIDER: 'google',
    RATE_LIMIT_PER_SECOND: '1000',
    RATE_LIMIT_BURST: '1000',
    ...env,
  });
  const primary = createGoogleEngine(config.engines.google!);
  const second = createGoogleEngine({ ...config.engines.google!, endpoint: backupFake.address });
  google = [primary, second];
  const g = countingEngine(primary);
  const backup = countingEngine({ ...second, name: 'backup' });
  const simulated = countingEngine(createSimulatedEngine());
  const { log, lines } = capturingLogger('info');
  server = await startServer(config, { engines: createEngineRegistry([g, backup, simulated], 'google'), log });
  return { server, google: g, backup, simulated, lines };
}

/** Sends 200 ms frames `speed` times faster than real time. */
async function stream(c: TestClient, frames: Uint8Array[], speed: number): Promise<void> {
  const started = Date.now();
  for (let i = 0; i < frames.length; i++) {
    c.audio(frames[i]!);
    const due = started + ((i + 1) * 200) / speed;
    if (due - Date.now() >= 5) await sleep(due - Date.now());
  }
}

interface Final {
  offset: number;
  text: string;
}
const finalsOf = (c: TestClient, channelId: number): Final[] =>
  c
    .transcripts()
    .filter((d: any) => d.isFinal && d.channelId === channelId)
    .map((d: any) => ({ offset: parseDuration(d.offset)!, text: d.alternatives[0].interpretations[0].transcript as string }));

/** Every word once, in its utterance, at its offset, whichever engine recognized it. */
function expectEveryUtteranceOnce(finals: Final[], speech: SynthesizedSpeech): void {
  expect(finals.map((f) => f.text.replace(/[.]/g, '').toLowerCase().split(' '))).toEqual(speech.spans.map((s) => s.words));
  finals.forEach((f, i) => {
    const span = speech.spans[i]!;
    expect(Math.abs(f.offset - span.startMs / 1000), `utterance ${i} at ${f.offset}, spoken at ${span.startMs / 1000}`).toBeLessThan(0.15);
  });
}

const metric = async (name: string) => {
  const text = await server!.stats.prometheus.registry.metrics();
  return text.split('\n').find((l) => l.startsWith(name));
};

describe('vendor failover', () => {
  it('a refused stream mid-utterance: the call goes on with customConfig.fallbackVendor, every utterance once, offsets kept', async () => {
    const h = await start();
    const customer = synthesizeWords(script(6, 0), { leadingSilenceMs: 300 });
    const agent = synthesizeWords(script(6, 9), { leadingSilenceMs: 500 });
    // Both channels' streams are refused in their third utterance (a revoked key, say).
    const mid = (customer.spans[2]!.startMs + customer.spans[2]!.endMs) / 2;
    fake.failNextStreams(2, { code: 7, message: 'Permission denied on resource project.', afterAudioMs: mid });
    const c = await TestClient.connect(h.server.url);
    c.open({ customConfig: { transcriptionVendor: 'google', fallbackVendor: 'backup' } });
    await c.waitType('opened');
    await stream(c, pcmuFrames(stereo(customer, agent)), 20);
    await c.close();
    expect(c.types()).not.toContain('disconnect');
    expectEveryUtteranceOnce(finalsOf(c, 0), customer);
    expectEveryUtteranceOnce(finalsOf(c, 1), agent);
    // The backup heard the rest of each channel: from the end of its last final, the third utterance on.
    expect(backupFake.calls.map((call) => call.audioBytes / 16)).toEqual([expect.any(Number), expect.any(Number)]);
    // One line and one count for the session, however many channels moved.
    expect(h.lines.filter((l) => l['msg'] === 'speech engine failed; the call continues on the fallback engine')).toEqual([
      expect.objectContaining({ from: 'google', to: 'backup', level: 40 }),
    ]);
    expect(await metric('audiohook_engine_failovers_total{from="google",to="backup"}')).toMatch(/ 1$/);
    expect(h.lines.find((l) => l['msg'] === 'session ended')).toMatchObject({ failedOverTo: 'backup', audioNotTranscribedMs: 0 });
    expect(h.google.open + h.backup.open).toBe(0);
  });

  for (const [code, name] of [
    [8, 'RESOURCE_EXHAUSTED (429)'],
    [13, 'INTERNAL (500)'],
    [14, 'UNAVAILABLE (503)'],
  ] as const) {
    it(`a stream dropped mid-utterance with ${name} is restarted with its audio replayed: every word once, no fallback needed`, async () => {
      const h = await start();
      const customer = synthesizeWords(script(5, 1), { leadingSilenceMs: 300 });
      const agent = synthesizeWords(script(5, 8), { leadingSilenceMs: 400 });
      fake.failNextStreams(2, { code, afterAudioMs: (customer.spans[2]!.startMs + customer.spans[2]!.endMs) / 2 });
      const c = await TestClient.connect(h.server.url);
      c.open({ customConfig: { transcriptionVendor: 'google', fallbackVendor: 'backup' } });
      await c.waitType('opened');
      await stream(c, pcmuFrames(stereo(customer, agent)), 20);
      await c.close();
      expectEveryUtteranceOnce(finalsOf(c, 0), customer);
      expectEveryUtteranceOnce(finalsOf(c, 1), agent);
      expect(backupFake.calls).toHaveLength(0);
      expect(h.lines.filter((l) => l['msg'] === 'speech engine stream failed; restarting').map((l) => l['retryInMs'])).toEqual([100, 100]);
    });
  }

  it('a vendor down for the whole call: three restarts with back-off, then the fallback from the start of the call', async () => {
    const h = await start();
    fake.rejectAll({ code: 14, message: 'The service is currently unavailable.' });
    const customer = synthesizeWords(script(8, 0), { leadingSilenceMs: 300 });
    const agent = synthesizeWords(script(8, 5), { leadingSilenceMs: 700 });
    const c = await TestClient.connect(h.server.url);
    c.open({ customConfig: { fallbackVendor: 'backup' } });
    await c.waitType('opened');
    const started = Date.now();
    // About 5 s: the ~3 s of back-off (0.1 + 1 + 2 s) pass while the call goes on (inside the 30 s replay).
    await stream(c, pcmuFrames(stereo(customer, agent)), 3);
    await c.close();
    expect(Date.now() - started).toBeGreaterThan(3100);
    expect(c.types()).not.toContain('disconnect');
    expectEveryUtteranceOnce(finalsOf(c, 0), customer);
    expectEveryUtteranceOnce(finalsOf(c, 1), agent);
    // The backup was given each channel's whole call: nothing was finalized before it took over.
    const samples = stereo(customer, agent)[0].length;
    expect(backupFake.calls.map((call) => call.audioBytes)).toEqual([samples * 2, samples * 2]);
    // Back-off within bounds: 0.1 s, 1 s, 2 s on each channel, then the fallback.
    const retries = h.lines.filter((l) => l['msg'] === 'speech engine stream failed; restarting').map((l) => l['retryInMs']);
    expect(retries.sort((a, b) => Number(a) - Number(b))).toEqual([100, 100, 1000, 1000, 2000, 2000]);
    expect(await metric('audiohook_engine_errors_total{engine="google",retryable="true"}')).toMatch(/ 8$/);
    expect(fake.calls.length).toBe(8);
  }, 30_000);

  it('FALLBACK_SPEECH_PROVIDER is the fallback of sessions that name none', async () => {
    const h = await start({ FALLBACK_SPEECH_PROVIDER: 'simulated' });
    fake.rejectAll({ code: 7, message: 'Permission denied.' });
    const c = await TestClient.connect(h.server.url);
    c.open();
    await c.waitType('opened');
    await stream(c, pcmuFrames(stereo(synthesizeWords(script(3), { leadingSilenceMs: 300 }), synthesizeWords(script(3, 4)))), 20);
    await c.close();
    expect(c.types()).not.toContain('disconnect');
    expect(c.transcripts().length).toBeGreaterThan(0);
    expect(h.lines.find((l) => l['msg'] === 'speech engine failed; the call continues on the fallback engine')).toMatchObject({ from: 'google', to: 'simulated' });
    expect(h.simulated.opened).toBe(2);
  });

  it('without a fallback, an engine that cannot recover ends the session with one clear disconnect', async () => {
    const h = await start();
    fake.rejectAll({ code: 14, message: 'The service is currently unavailable.' });
    const c = await TestClient.connect(h.server.url);
    c.open({ customConfig: { transcriptionVendor: 'google' } });
    await c.waitType('opened');
    const call = stream(c, pcmuFrames(stereo(synthesizeWords(script(4)), synthesizeWords(script(4, 3)))), 2);
    const d = await c.waitType('disconnect', 10_000);
    expect(d.parameters['reason']).toBe('error');
    expect(d.parameters['info']).toMatch(/^speech engine unavailable: /);
    await call;
    c.send('close', { reason: 'disconnect' });
    await c.waitType('closed');
    expect(c.types().filter((t) => t === 'disconnect')).toHaveLength(1);
    expect(h.google.open).toBe(0);
  }, 30_000);

  it('a stalled vendor (audio taken, nothing answered) is given up on after ENGINE_STALL_SECONDS and its audio replayed: every word once', async () => {
    const h = await start({ ENGINE_STALL_SECONDS: '1' });
    const customer = synthesizeWords(script(6, 2), { leadingSilenceMs: 300 });
    const agent = synthesizeWords(script(6, 11), { leadingSilenceMs: 600 });
    const mid = (customer.spans[3]!.startMs + customer.spans[3]!.endMs) / 2;
    fake.failNextStreams(1, { code: 0, stall: true, afterAudioMs: mid });
    const c = await TestClient.connect(h.server.url);
    c.open({ customConfig: { transcriptionVendor: 'google' } });
    await c.waitType('opened');
    // Real time would take 9 s; at twice that the 1 s stall is noticed mid-call.
    await stream(c, pcmuFrames(stereo(customer, agent)), 2);
    await c.close();
    expect(c.types()).not.toContain('disconnect');
    expectEveryUtteranceOnce(finalsOf(c, 0), customer);
    expectEveryUtteranceOnce(finalsOf(c, 1), agent);
    const restarted = h.lines.filter((l) => l['msg'] === 'speech engine stream failed; restarting');
    expect(restarted).toHaveLength(1);
    expect(JSON.stringify(restarted[0]!['err'])).toMatch(/no answer from the engine for \d+ s/);
    expect(h.google.open).toBe(0);
  }, 30_000);

  it('a stream that stalls while it is flushed at close is replaced within the close: the last words still arrive before closed', async () => {
    const h = await start({ ENGINE_STALL_SECONDS: '30' });
    const customer = synthesizeWords(script(3, 2), { leadingSilenceMs: 300 });
    const agent = synthesizeWords(script(3, 7), { leadingSilenceMs: 600 });
    // The customer's stream stalls in its last utterance: the end of the call comes before any 30 s stall is noticed.
    const mid = (customer.spans[2]!.startMs + customer.spans[2]!.endMs) / 2;
    fake.failNextStreams(1, { code: 0, stall: true, afterAudioMs: mid });
    const c = await TestClient.connect(h.server.url);
    c.open({ customConfig: { transcriptionVendor: 'google' } });
    await c.waitType('opened');
    await stream(c, pcmuFrames(stereo(customer, agent)), 20);
    const closing = Date.now();
    await c.close();
    expect(Date.now() - closing).toBeLessThan(8000);
    expectEveryUtteranceOnce(finalsOf(c, 0), customer);
    expectEveryUtteranceOnce(finalsOf(c, 1), agent);
    expect(h.google.open).toBe(0);
  }, 30_000);

  it('the probe checks the fallback like the engine: unknown, unconfigured or the same engine is refused', async () => {
    const h = await start();
    const probe = async (customConfig: Record<string, unknown>) => {
      const c = await TestClient.connect(h.server.url);
      c.open({ conversationId: '00000000-0000-0000-0000-000000000000', participant: { id: '00000000-0000-0000-0000-000000000000' }, customConfig });
      const answer = await c.waitFor((m) => m.type === 'opened' || m.type === 'disconnect');
      c.ws.close();
      return answer;
    };
    expect((await probe({ transcriptionVendor: 'google', fallbackVendor: 'simulated' })).type).toBe('opened');
    expect((await probe({ transcriptionVendor: 'google', fallbackVendor: 'nosuch' })).parameters).toEqual({
      reason: 'error',
      info: "customConfig.fallbackVendor: unknown engine 'nosuch' (available: google, backup, simulated)",
    });
    expect((await probe({ transcriptionVendor: 'google', fallbackVendor: 'openai' })).parameters['info']).toMatch(
      /^customConfig\.fallbackVendor: unknown engine 'openai'/,
    );
    expect((await probe({ transcriptionVendor: 'google', fallbackVendor: 'Google' })).parameters['info']).toBe(
      "customConfig.fallbackVendor must name another engine than 'google'",
    );
    expect((await probe({ fallbackVendor: 7 })).parameters['info']).toBe('customConfig.fallbackVendor must be a string');
  });
});
