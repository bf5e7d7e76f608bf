/** The real server on 127.0.0.1, driven by a real WebSocket client through whole sessions. */
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { SpeechEngine } from '../../src/engines/types.js';
import { createSimulatedEngine } from '../../src/engines/simulated/index.js';
import { interleave } from '../../src/audio/frames.js';
import { parseDuration } from '../../src/protocol/duration.js';
import { NULL_UUID } from '../../src/protocol/auth.js';
import { API_KEY, CLIENT_SECRET, ORG_ID, TestClient, capturingLogger, UpgradeRejected, openParameters, pcmuFrames, sleep, startTestServer, tone } from './harness.js';

type Harness = Awaited<ReturnType<typeof startTestServer>>;
let h: Harness | undefined;
afterEach(async () => {
  await h?.server.close();
  h = undefined;
});

async function start(env: Record<string, string> = {}, engine?: SpeechEngine) {
  h = await startTestServer(env, engine);
  return h;
}

/** Two utterances on the customer channel (0.5–1.5 s, 3.0–3.8 s), one on the agent channel (2.0–2.6 s). */
function conversation() {
  return pcmuFrames([tone(5, [[0.5, 1.5], [3.0, 3.8]]), tone(5, [[2.0, 2.6]])]);
}

function expectValidServerMessages(c: TestClient) {
  c.messages.forEach((m, i) => {
    expect(m.version).toBe('2');
    expect(m.id).toBe(c.sessionId);
    expect(m.seq).toBe(i + 1);
    expect(typeof m.parameters).toBe('object');
    expect(m).not.toHaveProperty('position');
    expect(m.clientseq).toBeLessThanOrEqual(c.seq);
  });
}

describe('AudioHook server over loopback', () => {
  it('runs a stereo call: opened at once, transcript events per channel on the stream timeline, closed', async () => {
    const { server, engine } = await start();
    const c = await TestClient.connect(server.url);
    const t0 = performance.now();
    c.open();
    const opened = await c.waitType('opened');
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(opened.clientseq).toBe(1);
    expect(opened.parameters['media']).toEqual([{ type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 }]);
    expect(opened.parameters['startPaused']).toBe(false);
    expect(engine.open).toBe(2);

    for (const f of conversation()) c.audio(f);
    const ping = c.send('ping', { rtt: 'PT0.01S' });
    const pong = await c.waitType('pong');
    expect(pong.clientseq).toBe(ping);
    await c.waitFor((m) => m.type === 'event' && m.parameters['entities'][0].data.channelId === 1);
    const { closed, seq } = await c.close();
    expect(closed.clientseq).toBe(seq);
    expect(c.types().at(-1)).toBe('closed');

    const finals = c.transcripts().filter((t) => t.isFinal);
    expect(finals.map((t) => t.channelId)).toEqual([0, 1, 0]);
    const offsets = finals.map((t) => parseDuration(t.offset)!);
    expect(offsets[0]).toBeCloseTo(0.5, 1);
    expect(offsets[1]).toBeCloseTo(2.0, 1);
    expect(offsets[2]).toBeCloseTo(3.0, 1);
    for (const t of finals) {
      expect(t.alternatives[0].interpretations[0].transcript).toMatch(/^\[speech \d+\.\d s\]$/);
      expect(t.alternatives[0].languages).toEqual(['en-US']);
      const start = parseDuration(t.offset)!;
      const end = start + parseDuration(t.duration)!;
      for (const tok of t.alternatives[0].interpretations[0].tokens) {
        expect(parseDuration(tok.offset)!).toBeGreaterThanOrEqual(start - 1e-9);
        expect(parseDuration(tok.offset)! + parseDuration(tok.duration)!).toBeLessThanOrEqual(end + 0.0011);
      }
    }
    expectValidServerMessages(c);
    await sleep(50);
    expect(server.sessionCount).toBe(0);
    expect(engine.open).toBe(0);
  });

  it('transcribes a mono offer on channel 0', async () => {
    const { server } = await start();
    const c = await TestClient.connect(server.url);
    const mono = { type: 'audio', format: 'PCMU', channels: ['internal'], rate: 8000 };
    c.open({ media: [mono] });
    expect((await c.waitType('opened')).parameters['media']).toEqual([mono]);
    for (const f of pcmuFrames([tone(3, [[0.4, 1.4]])])) c.audio(f);
    await c.close();
    expect(c.transcripts().map((t) => [t.channelId, t.isFinal])).toEqual([[0, true]]);
  });

  it('decodes for engines without µ-law input, and takes L16 media when that is all that is offered', async () => {
    const sim = createSimulatedEngine();
    const pcmOnly: SpeechEngine = {
      name: 'simulated',
      capabilities: { ...sim.capabilities, mulawInput: false },
      openStream: (o) => {
        const s = sim.openStream(o);
        return { push: (x) => s.push(x), flush: () => s.flush(), close: () => s.close() };
      },
    };
    const { server } = await start({}, pcmOnly);
    const pcmu = await TestClient.connect(server.url);
    pcmu.open();
    await pcmu.waitType('opened');
    for (const f of conversation()) pcmu.audio(f);
    await pcmu.close();
    expect(pcmu.transcripts().map((t) => t.channelId)).toEqual([0, 1, 0]);

    const l16 = await TestClient.connect(server.url);
    const offer = { type: 'audio', format: 'L16', channels: ['external', 'internal'], rate: 8000 };
    l16.open({ media: [offer] });
    expect((await l16.waitType('opened')).parameters['media']).toEqual([offer]);
    const [a, b] = [tone(5, [[0.5, 1.5], [3.0, 3.8]]), tone(5, [[2.0, 2.6]])];
    for (let i = 0; i < a.length; i += 1600) l16.audio(interleave([a.subarray(i, i + 1600), b.subarray(i, i + 1600)], 'L16'));
    await l16.close();
    const finals = l16.transcripts();
    expect(finals.map((t) => t.channelId)).toEqual([0, 1, 0]);
    expect(parseDuration(finals[1].offset)).toBeCloseTo(2.0, 1);
  });

  it('answers a connection probe with supportedLanguages and starts no engine', async () => {
    const { server, engine } = await start({ SUPPORTED_LANGUAGES: 'en-US, es-ES,de-DE' });
    const c = await TestClient.connect(server.url);
    c.open({ conversationId: NULL_UUID, participant: { id: NULL_UUID, ani: '', aniName: '', dnis: '' }, supportedLanguages: true });
    const opened = await c.waitType('opened');
    expect(opened.parameters['supportedLanguages']).toEqual(['en-US', 'es-ES', 'de-DE']);
    expect((opened.parameters['media'] as unknown[]).length).toBe(1);
    expect(engine.opened).toBe(0);
    await c.close();
    expectValidServerMessages(c);
  });

  it('fails a probe for an unknown transcriptionVendor, naming it', async () => {
    const { server } = await start();
    const c = await TestClient.connect(server.url);
    c.open({ conversationId: NULL_UUID, participant: { id: NULL_UUID, ani: '', aniName: '', dnis: '' }, customConfig: { transcriptionVendor: 'Acme' } });
    const d = await c.waitType('disconnect');
    expect(d.parameters).toMatchObject({ reason: 'error' });
    expect(d.parameters['info']).toContain("'acme'");
    const closeSeq = c.send('close', { reason: 'disconnect' });
    expect((await c.waitType('closed')).clientseq).toBe(closeSeq);
  });

  it('picks the vendor case-insensitively from customConfig', async () => {
    const { server, engine } = await start();
    const c = await TestClient.connect(server.url);
    c.open({ customConfig: { transcriptionVendor: 'SIMULATED' } });
    await c.waitType('opened');
    expect(engine.open).toBe(2);
    await c.close();
  });

  it('rejects a bad signature with 401 after the failure floor, and an unknown key', async () => {
    const { server } = await start();
    const t0 = Date.now();
    await expect(TestClient.connect(server.url, { secret: Buffer.from('wrong secret').toString('base64') })).rejects.toMatchObject({ status: 401 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    await expect(TestClient.connect(server.url, { secret: null })).rejects.toMatchObject({ status: 401 });
    await expect(TestClient.connect(server.url, { apiKey: 'nope' })).rejects.toBeInstanceOf(UpgradeRejected);
    await expect(TestClient.connect(server.url, { headers: { 'Audiohook-Session-Id': 'not-a-uuid' } })).rejects.toMatchObject({ status: 400 });
    expect(server.sessionCount).toBe(0);
  });

  it('keeps other connections fast while failures wait out their floor', async () => {
    const { server } = await start({ AUTH_FAILURE_DELAY_MS: '1500' });
    const bad = Array.from({ length: 20 }, () => TestClient.connect(server.url, { apiKey: 'nope' }).catch((e) => e));
    const t0 = Date.now();
    const good = await TestClient.connect(server.url);
    expect(Date.now() - t0).toBeLessThan(1000);
    good.ws.close();
    for (const r of await Promise.all(bad)) expect(r).toBeInstanceOf(UpgradeRejected);
  });

  it('disconnects unauthorized when open.organizationId differs from the header', async () => {
    const { server } = await start();
    const c = await TestClient.connect(server.url);
    c.send('open', openParameters('11111111-2222-3333-4444-555555555555'));
    expect((await c.waitType('disconnect')).parameters).toMatchObject({ reason: 'unauthorized' });
    expect(c.types()).not.toContain('opened');
  });

  it('refuses orgs outside GENESYS_ORG_ID with 401', async () => {
    const { server } = await start({ GENESYS_ORG_ID: '11111111-2222-3333-4444-555555555555' });
    await expect(TestClient.connect(server.url, { orgId: ORG_ID })).rejects.toMatchObject({ status: 401 });
  });

  const violations: Array<[string, (c: TestClient) => void, RegExp]> = [
    ['a seq gap', (c) => c.send('ping', {}, { seq: 5 }), /seq/],
    ['bad JSON', (c) => c.ws.send('{"version":"2",'), /JSON/i],
    ['an unknown type', (c) => c.send('bogus'), /bogus/],
    ['an odd-size frame', (c) => c.audio(new Uint8Array(3201)), /3201/],
    ['a wrong session id', (c) => c.send('ping', {}, { id: '11111111-2222-3333-4444-555555555555' }), /id/],
    ['missing parameters', (c) => c.send('ping', {}, { parameters: undefined }), /parameters/],
    ['a text message over 64 KiB', (c) => c.send('ping', { pad: 'x'.repeat(70_000) }), /too large/],
    ['audio that is not PCMU-stereo sized', (c) => c.audio(new Uint8Array(1)), /not a whole number/],
  ];
  for (const [name, act, info] of violations) {
    it(`answers ${name} with disconnect error, then closed`, async () => {
      const { server, engine } = await start();
      const c = await TestClient.connect(server.url);
      c.open();
      await c.waitType('opened');
      act(c);
      const d = await c.waitType('disconnect');
      expect(d.parameters['reason']).toBe('error');
      expect(d.parameters['info']).toMatch(info);
      c.send('close', { reason: 'disconnect' }, { seq: 99 });
      await c.waitType('closed');
      expect(c.types().slice(-2)).toEqual(['disconnect', 'closed']);
      expectValidServerMessages(c);
      await sleep(20);
      expect(engine.open).toBe(0);
      expect(server.sessionCount).toBe(0);
    });
  }

  it('survives an engine that throws: the session gets disconnect error, the server keeps serving', async () => {
    const broken: SpeechEngine = {
      name: 'simulated',
      capabilities: { interimResults: false, wordTimes: false, wordConfidence: false },
      openStream() {
        throw new Error('engine exploded');
      },
    };
    const { server } = await start({}, broken);
    const c = await TestClient.connect(server.url);
    c.open();
    await c.waitType('opened');
    expect((await c.waitType('disconnect')).parameters['info']).toBe('internal server error');
    c.send('close', { reason: 'disconnect' });
    await c.waitType('closed');
    const d = await TestClient.connect(server.url);
    d.open({ conversationId: NULL_UUID, participant: { id: NULL_UUID, ani: '', aniName: '', dnis: '' } });
    await d.waitType('opened');
    await d.close();
  });

  it('answers the pending close with closed when it must disconnect while closing', async () => {
    const { server, httpUrl } = await start();
    const c = await TestClient.connect(server.url);
    c.open({ media: [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }] });
    await c.waitType('opened');
    c.send('error', { code: 429, message: 'Too many requests', retryAfter: 'PT20S' });
    for (const f of pcmuFrames([tone(2, [[0.2, 0.8]])])) c.audio(f);
    c.send('close', { reason: 'end' }); // the held event keeps the server draining
    await sleep(100);
    c.ws.send('not json');
    const closed = await c.waitType('closed', 3000);
    expect(c.types().slice(-2)).toEqual(['disconnect', 'closed']);
    expect(closed.seq).toBe(c.messages.at(-2)!.seq + 1);
    const stats = await (await fetch(`${httpUrl}/stats`)).json();
    expect(stats.eventsUndelivered).toBe(1);
  });

  it('answers a close that comes before open with closed', async () => {
    const { server } = await start();
    const c = await TestClient.connect(server.url);
    const seq = c.send('close', { reason: 'error' });
    const closed = await c.waitType('closed');
    expect(closed.clientseq).toBe(seq);
    expect(c.types()).toEqual(['closed']);
    c.ws.close();
    for (let i = 0; i < 50 && server.sessionCount > 0; i++) await sleep(10);
    expect(server.sessionCount).toBe(0);
  });

  it('answers audio before open with disconnect error', async () => {
    const { server } = await start();
    const c = await TestClient.connect(server.url);
    c.audio(new Uint8Array(3200));
    expect((await c.waitType('disconnect')).parameters['info']).toMatch(/before open/);
  });

  it('accepts a duplicate paused, drops audio racing it, and keeps offsets on the stream timeline after pause and discard', async () => {
    const { server } = await start();
    const c = await TestClient.connect(server.url);
    c.open({ media: [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }] });
    await c.waitType('opened');
    // 0–2 s streamed (speech 0.5–1.2), then a hold of 10 s, then 2 s (speech at +0.5 → 12.5 s),
    // then the client discards 3 s, then 2 s (speech at +0.5 → 17.5 s).
    for (const f of pcmuFrames([tone(2, [[0.5, 1.2]])])) c.audio(f);
    c.send('paused');
    c.send('paused');
    for (const f of pcmuFrames([tone(1, [[0, 1]])])) c.audio(f); // raced the pause: dropped
    c.send('resumed', { start: 'PT2S', discarded: 'PT10S' });
    for (const f of pcmuFrames([tone(2, [[0.5, 1.2]])])) c.audio(f);
    c.send('discarded', { start: 'PT14S', discarded: 'PT3S' });
    for (const f of pcmuFrames([tone(2, [[0.5, 1.2]])])) c.audio(f);
    await c.close();
    expect(c.types()).not.toContain('disconnect');
    const offsets = c.transcripts().map((t) => parseDuration(t.offset)!);
    expect(offsets).toHaveLength(3);
    expect(offsets[0]).toBeCloseTo(0.5, 1);
    expect(offsets[1]).toBeCloseTo(12.5, 1);
    expect(offsets[2]).toBeCloseTo(17.5, 1);
  });

  it('finalizes the utterance in progress on paused (before the pause, not after)', async () => {
    const { server } = await start();
    const c = await TestClient.connect(server.url);
    c.open({ media: [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }] });
    await c.waitType('opened');
    for (const f of pcmuFrames([tone(2, [[0.5, 2]])])) c.audio(f); // still speaking when paused
    c.send('paused');
    const ev = await c.waitType('event');
    expect(ev.parameters['entities'][0].data.isFinal).toBe(true);
    expect(parseDuration(ev.parameters['entities'][0].data.offset)).toBeCloseTo(0.5, 1);
    await c.close();
  });

  it('ends an utterance cut by a hold where the hold began, not after it (results arriving late, like a vendor)', async () => {
    const sim = createSimulatedEngine();
    const late: SpeechEngine = {
      ...sim,
      openStream: (o) => {
        const s = sim.openStream({ ...o, onResult: (r) => setTimeout(() => o.onResult(r), 50) });
        return { push: (x) => s.push(x), flush: () => s.flush().then(() => sleep(100)), close: () => s.close() };
      },
    };
    const { server } = await start({}, late);
    const c = await TestClient.connect(server.url);
    c.open({ media: [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }] });
    await c.waitType('opened');
    for (const f of pcmuFrames([tone(2, [[0.5, 2]])])) c.audio(f); // speaking until the hold
    c.send('paused');
    c.send('resumed', { start: 'PT2S', discarded: 'PT10S' });
    await c.close();
    const [t] = c.transcripts();
    expect(parseDuration(t.offset)).toBeCloseTo(0.5, 1);
    expect(parseDuration(t.duration)).toBeCloseTo(1.5, 1);
    for (const tok of t.alternatives[0].interpretations[0].tokens) {
      expect(parseDuration(tok.offset)! + parseDuration(tok.duration)!).toBeLessThanOrEqual(2.001);
    }
  });

  it('holds events on 429 for retryAfter, without holding pongs, and loses none', async () => {
    const { server } = await start({ RATE_LIMIT_BURST: '2', RATE_LIMIT_PER_SECOND: '50' });
    const c = await TestClient.connect(server.url);
    c.open({ media: [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }] });
    await c.waitType('opened');
    c.send('error', { code: 429, message: 'Too many requests', retryAfter: 'PT1.5S' });
    const t0 = Date.now();
    // 6 utterances, 1 s apart.
    const spans: Array<[number, number]> = Array.from({ length: 6 }, (_, i) => [i + 0.2, i + 0.6]);
    for (const f of pcmuFrames([tone(6.5, spans)])) c.audio(f);
    const ping = c.send('ping');
    const pong = await c.waitType('pong');
    expect(pong.clientseq).toBe(ping);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(c.types()).not.toContain('event');
    const first = await c.waitType('event', 4000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    expect(first.parameters['entities'][0].data.isFinal).toBe(true);
    await c.close();
    expect(c.transcripts()).toHaveLength(6);
    expectValidServerMessages(c);
  });

  it('ends the session with disconnect error when finals overflow the queue, and counts what was not delivered', async () => {
    const { server, httpUrl } = await start({ RATE_LIMIT_PER_SECOND: '0.1', RATE_LIMIT_BURST: '2', OUTBOUND_QUEUE_MAX: '10' });
    const c = await TestClient.connect(server.url);
    c.open({ media: [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }] });
    await c.waitType('opened');
    const spans: Array<[number, number]> = Array.from({ length: 14 }, (_, i) => [i + 0.1, i + 0.4]);
    for (const f of pcmuFrames([tone(14.5, spans)])) c.audio(f);
    const d = await c.waitType('disconnect');
    expect(d.parameters).toEqual({ reason: 'error', info: 'outbound event backlog too large' });
    c.send('close', { reason: 'disconnect' });
    await c.waitType('closed');
    expect(c.transcripts()).toHaveLength(1); // opened and one event used the burst; the rest queued behind 0.1/s
    const stats = await (await fetch(`${httpUrl}/stats`)).json();
    expect(stats.eventsUndelivered).toBe(11); // the 10 queued and the one that overflowed
  });

  it('counts transcripts still queued when the socket drops as undelivered', async () => {
    const { server, httpUrl } = await start();
    const c = await TestClient.connect(server.url);
    c.open({ media: [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }] });
    await c.waitType('opened');
    c.send('error', { code: 429, message: 'Too many requests', retryAfter: 'PT30S' });
    const spans: Array<[number, number]> = Array.from({ length: 3 }, (_, i) => [i + 0.2, i + 0.6]);
    for (const f of pcmuFrames([tone(3.5, spans)])) c.audio(f);
    c.send('ping');
    await c.waitType('pong'); // every frame before it has been handled
    c.ws.terminate();
    for (let i = 0; i < 50 && server.sessionCount > 0; i++) await sleep(20);
    const stats = await (await fetch(`${httpUrl}/stats`)).json();
    expect(stats).toMatchObject({ eventsSent: 0, eventsUndelivered: 3 });
  });

  it('flushes the last utterance on close: its event comes before closed', async () => {
    const { server } = await start();
    const c = await TestClient.connect(server.url);
    c.open();
    await c.waitType('opened');
    for (const f of pcmuFrames([tone(1.6, [[0.4, 1.6]]), tone(1.6, [])])) c.audio(f); // speech up to the last sample
    await c.close();
    expect(c.types().slice(-2)).toEqual(['event', 'closed']);
    expect(c.transcripts()[0].isFinal).toBe(true);
  });

  it('answers a duplicate close only once', async () => {
    const { server } = await start();
    const c = await TestClient.connect(server.url);
    c.open();
    await c.waitType('opened');
    c.send('close', { reason: 'end' });
    const second = c.send('close', { reason: 'end' });
    await c.waitType('closed');
    await sleep(100);
    expect(c.types()).toEqual(['opened', 'closed']);
    expect(c.messages[1]!.clientseq).toBe(second);
  });

  it('ends an idle session cleanly', async () => {
    const { server, engine } = await start({ IDLE_TIMEOUT_SECONDS: '0.3' });
    const c = await TestClient.connect(server.url);
    c.open();
    await c.waitType('opened');
    const d = await c.waitType('disconnect', 3000);
    expect(d.parameters['info']).toMatch(/idle/);
    c.send('close', { reason: 'disconnect' });
    await c.waitType('closed');
    await sleep(20);
    expect(engine.open).toBe(0);
    expect(server.sessionCount).toBe(0);
  });

  it('disconnects a socket that never sends open, freeing its capacity slot', async () => {
    const { server } = await start({ OPEN_TIMEOUT_SECONDS: '0.3', MAX_SESSIONS: '1' });
    const c = await TestClient.connect(server.url);
    await expect(TestClient.connect(server.url)).rejects.toMatchObject({ status: 503 });
    const d = await c.waitType('disconnect', 3000);
    expect(d.parameters).toEqual({ reason: 'error', info: 'no open received' });
    c.send('close', { reason: 'disconnect' });
    await c.waitType('closed');
    c.ws.close();
    await sleep(50);
    const next = await TestClient.connect(server.url);
    next.open();
    await next.waitType('opened');
    await sleep(400); // past the open timeout: an opened session is not affected
    expect(next.types()).toEqual(['opened']);
    await next.close();
  });

  it('cuts off a client that stops reading while it keeps sending pings', async () => {
    const { server } = await start();
    const c = await TestClient.connect(server.url);
    c.open();
    await c.waitType('opened');
    (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const ping = JSON.stringify({ version: '2', id: c.sessionId, type: 'ping', serverseq: 1, parameters: {} });
    // The kernel absorbs a few MiB of unread pongs before the server's own buffer starts to grow.
    for (let i = 0; i < 200_000 && server.sessionCount > 0; i++) {
      c.ws.send(ping.replace('"type"', `"seq":${i + 2},"type"`));
      if (i % 5000 === 4999) await sleep(20);
    }
    for (let i = 0; i < 100 && server.sessionCount > 0; i++) await sleep(20);
    expect(server.sessionCount).toBe(0);
  });

  it('releases everything when the socket drops mid-call without close', async () => {
    const { server, engine } = await start();
    const clients = await Promise.all(Array.from({ length: 10 }, () => TestClient.connect(server.url)));
    for (const c of clients) c.open();
    await Promise.all(clients.map((c) => c.waitType('opened')));
    for (const c of clients) for (const f of pcmuFrames([tone(1, [[0.2, 1]]), tone(1, [])])) c.audio(f);
    expect(engine.open).toBe(20);
    for (const c of clients) c.ws.terminate();
    for (let i = 0; i < 50 && (server.sessionCount > 0 || engine.open > 0); i++) await sleep(20);
    expect(server.sessionCount).toBe(0);
    expect(engine.open).toBe(0);
  });

  it('answers 503 over MAX_SESSIONS, and accepts again once a session ends', async () => {
    const { server } = await start({ MAX_SESSIONS: '2' });
    const a = await TestClient.connect(server.url);
    const b = await TestClient.connect(server.url);
    await expect(TestClient.connect(server.url)).rejects.toMatchObject({ status: 503 });
    a.ws.terminate();
    await sleep(100);
    const c = await TestClient.connect(server.url);
    b.ws.close();
    c.ws.close();
  });

  it('verifies signatures against X-Forwarded-Host only when TRUST_PROXY is on', async () => {
    const proxied = { signedAuthority: 'connector.example.com', headers: { 'X-Forwarded-Host': 'connector.example.com' } };
    {
      const { server } = await start();
      await expect(TestClient.connect(server.url, proxied)).rejects.toMatchObject({ status: 401 });
      await server.close();
    }
    const { server } = await start({ TRUST_PROXY: 'true' });
    const c = await TestClient.connect(server.url, proxied);
    c.ws.close();
  });

  it('drains: not ready, refuses new sessions, asks open ones to end', async () => {
    const { server, httpUrl } = await start();
    const c = await TestClient.connect(server.url);
    c.open();
    await c.waitType('opened');
    const drained = server.drain(600);
    await sleep(50);
    expect((await fetch(`${httpUrl}/ready`)).status).toBe(503);
    expect((await fetch(`${httpUrl}/health`)).status).toBe(200);
    await expect(TestClient.connect(server.url)).rejects.toMatchObject({ status: 503 });
    const d = await c.waitType('disconnect', 2000);
    expect(d.parameters).toMatchObject({ reason: 'completed' });
    c.send('close', { reason: 'disconnect' });
    await c.waitType('closed');
    await drained;
    expect(server.sessionCount).toBe(0);
  });

  it('logs one line per session event, never per frame, no transcript text or secrets; warns once on position drift', async () => {
    const { log, lines } = capturingLogger('debug');
    h = await startTestServer({}, undefined, log);
    const c = await TestClient.connect(h.server.url);
    c.open();
    await c.waitType('opened');
    for (const f of pcmuFrames([tone(3, [[0.5, 1.5]]), tone(3, [])])) c.audio(f); // 15 frames, one utterance
    c.send('ping', {}, { position: 'PT3S' });
    await c.waitType('pong');
    c.send('ping', {}, { position: 'PT9S' });
    c.send('ping', {}, { position: 'PT9.2S' });
    await c.close();
    await sleep(50);
    const all = JSON.stringify(lines);
    expect(c.transcripts()).toHaveLength(1);
    expect(all).not.toContain('[speech');
    expect(all).not.toContain(API_KEY);
    expect(all).not.toContain(CLIENT_SECRET);
    expect(lines.length).toBeLessThan(12);
    expect(lines.filter((l) => l['msg'] === 'client position differs from the stream timeline')).toHaveLength(1);
    const ended = lines.filter((l) => l['msg'] === 'session ended');
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ reason: 'close:end', streamSeconds: 3, eventsSent: 1, maxPositionDrift: 6.2 });
  });

  it('does not count a malformed WebSocket handshake against capacity', async () => {
    const { server } = await start({ MAX_SESSIONS: '1', GENESYS_API_KEY: 'open-key', GENESYS_CLIENT_SECRET: '' });
    const u = new URL(server.url);
    for (let i = 0; i < 3; i++) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest({
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          headers: {
            Connection: 'Upgrade',
            Upgrade: 'websocket',
            'Sec-WebSocket-Version': '99',
            'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
            'Audiohook-Organization-Id': ORG_ID,
            'Audiohook-Session-Id': randomUUID(),
            'Audiohook-Correlation-Id': randomUUID(),
            'X-API-KEY': 'open-key',
          },
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(400);
    }
    await sleep(50);
    const c = await TestClient.connect(server.url, { apiKey: 'open-key', secret: null });
    c.ws.close();
  });

  it('serves /health and /ready, 404s other paths and refuses upgrades elsewhere', async () => {
    const { server, httpUrl } = await start();
    expect((await fetch(`${httpUrl}/health`)).status).toBe(200);
    expect(await (await fetch(`${httpUrl}/ready`)).json()).toMatchObject({ status: 'ready' });
    expect((await fetch(`${httpUrl}/nope`)).status).toBe(404);
    const stats = await (await fetch(`${httpUrl}/stats`)).json();
    expect(stats).toMatchObject({ sessions: 0, eventsSent: 0 });
    await expect(TestClient.connect(server.url.replace('/audiohook', '/other'))).rejects.toMatchObject({ status: 404 });
  });
});
