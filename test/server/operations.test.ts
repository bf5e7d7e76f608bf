/** Operations: /metrics, its token, session logs, and a drain that loses no transcript. */
import { afterEach, describe, expect, it } from 'vitest';
import { capturingLogger, pcmuFrames, sleep, startTestServer, TestClient, tone } from './harness.js';

let h: Awaited<ReturnType<typeof startTestServer>> | undefined;
afterEach(async () => {
  await h?.server.close();
  h = undefined;
});

/** One sample's value from Prometheus text, by name and exact label set ('' for none). */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** A call with one utterance that ends inside the audio, one still going when the audio stops. */
function utterances(): Uint8Array[] {
  return pcmuFrames([tone(4, [[0.4, 1.4], [2.6, 4]]), tone(4, [])]);
}

describe('/metrics', () => {
  it('counts a call: sessions by engine and outcome, events, latencies, probes, rejections, 429s; process metrics too', async () => {
    h = await startTestServer({ DEFAULT_SPEECH_PROVIDER: 'simulated' });
    const before = await (await fetch(`${h.httpUrl}/metrics`)).text();
    expect(sample(before, 'audiohook_sessions_total', 'engine="simulated",outcome="closed"')).toBeUndefined();

    const c = await TestClient.connect(h.server.url);
    c.open();
    await c.waitType('opened');
    c.send('error', { code: 429, message: 'Too many requests', retryAfter: 'PT0.3S' });
    for (const f of utterances()) c.audio(f);
    const during = await (await fetch(`${h.httpUrl}/metrics`)).text();
    expect(sample(during, 'audiohook_sessions_active', 'engine="simulated"')).toBe(1);
    await c.close();
    await expect(TestClient.connect(h.server.url, { secret: Buffer.from('wrong secret').toString('base64') })).rejects.toMatchObject({ status: 401 });
    const probe = await TestClient.connect(h.server.url);
    probe.open({ conversationId: '00000000-0000-0000-0000-000000000000', participant: { id: '00000000-0000-0000-0000-000000000000' } });
    await probe.waitType('opened');
    await probe.close();
    await sleep(20);

    const res = await fetch(`${h.httpUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(c.transcripts()).toHaveLength(2);
    expect(sample(text, 'audiohook_sessions_total', 'engine="simulated",outcome="closed"')).toBe(1);
    expect(sample(text, 'audiohook_sessions_active', 'engine="simulated"')).toBeUndefined();
    expect(sample(text, 'audiohook_probes_total', 'outcome="ok"')).toBe(1);
    expect(sample(text, 'audiohook_events_sent_total', 'kind="final"')).toBe(2);
    expect(sample(text, 'audiohook_transcript_latency_seconds_count')).toBe(2);
    expect(sample(text, 'audiohook_open_latency_seconds_count')).toBe(2);
    expect(sample(text, 'audiohook_upgrades_rejected_total', 'reason="unauthorized"')).toBe(1);
    expect(sample(text, 'audiohook_client_rate_limited_total')).toBe(1);
    expect(sample(text, 'audiohook_client_rate_limited_held_seconds_total')).toBeCloseTo(0.3, 1);
    expect(sample(text, 'audiohook_events_queued')).toBe(0);
    expect(sample(text, 'audiohook_draining')).toBe(0);
    expect(sample(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(sample(text, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    // Label sets stay small: no session, conversation or organization ids.
    expect(text).not.toContain(c.sessionId);
    expect(text).not.toContain(c.orgId);
    const labels = new Set([...text.matchAll(/^audiohook_\w+\{([^}]*)\}/gm)].flatMap((m) => [...m[1]!.matchAll(/(\w+)="/g)].map((l) => l[1])));
    expect([...labels].sort()).toEqual(['engine', 'kind', 'le', 'outcome', 'reason'].filter((l) => labels.has(l)));
  });

  it('counts a refused open as refused, with the engine unknown', async () => {
    h = await startTestServer();
    const c = await TestClient.connect(h.server.url);
    c.open({ customConfig: { transcriptionVendor: 'nosuchengine' } });
    expect((await c.waitType('disconnect')).parameters['reason']).toBe('error');
    c.send('close', { reason: 'disconnect' });
    await c.waitType('closed');
    await sleep(20);
    const text = await (await fetch(`${h.httpUrl}/metrics`)).text();
    expect(sample(text, 'audiohook_sessions_total', 'engine="none",outcome="refused"')).toBe(1);
  });

  it('METRICS_TOKEN guards /metrics and /stats with a bearer token; /health and /ready stay open', async () => {
    const token = 'a-metrics-token-long-enough';
    h = await startTestServer({ METRICS_TOKEN: token });
    for (const path of ['/metrics', '/stats']) {
      const none = await fetch(`${h.httpUrl}${path}`);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      expect((await fetch(`${h.httpUrl}${path}`, { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
      expect((await fetch(`${h.httpUrl}${path}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    }
    expect((await fetch(`${h.httpUrl}/health`)).status).toBe(200);
    expect((await fetch(`${h.httpUrl}/ready`)).status).toBe(200);
  });
});

describe('drain', () => {
  it('lets live calls go on, then flushes the utterance in progress before disconnect completed', async () => {
    h = await startTestServer();
    const c = await TestClient.connect(h.server.url);
    c.open();
    await c.waitType('opened');
    for (const f of utterances()) c.audio(f);
    await c.waitFor((m) => m.type === 'event'); // the first utterance, ended inside the audio
    expect(c.transcripts()).toHaveLength(1);
    const drained = h.server.drain(400);
    await sleep(50);
    expect((await fetch(`${h.httpUrl}/ready`)).status).toBe(503);
    await expect(TestClient.connect(h.server.url)).rejects.toMatchObject({ status: 503 });
    // The call is not cut short while the grace lasts.
    await sleep(200);
    expect(c.types()).not.toContain('disconnect');
    const d = await c.waitType('disconnect', 3000);
    expect(d.parameters).toEqual({ reason: 'completed', info: 'server shutting down' });
    // The second utterance, still open when the audio stopped, arrived before the disconnect.
    const types = c.types();
    expect(types.filter((t) => t === 'event')).toHaveLength(2);
    expect(types.lastIndexOf('event')).toBeLessThan(types.indexOf('disconnect'));
    expect(c.transcripts()[1]).toMatchObject({ isFinal: true, channelId: 0 });
    c.send('close', { reason: 'disconnect' });
    await c.waitType('closed');
    await drained;
    expect(h.server.sessionCount).toBe(0);
    expect(h.engine.open).toBe(0);
    const text = await (await fetch(`${h.httpUrl}/metrics`)).text();
    expect(sample(text, 'audiohook_sessions_total', 'engine="simulated",outcome="completed"')).toBe(1);
    expect(sample(text, 'audiohook_upgrades_rejected_total', 'reason="draining"')).toBe(1);
    expect(sample(text, 'audiohook_draining')).toBe(1);
  });

  it("a client's close during the shutdown flush is answered with closed, not disconnect", async () => {
    h = await startTestServer();
    const c = await TestClient.connect(h.server.url);
    c.open();
    await c.waitType('opened');
    for (const f of utterances()) c.audio(f);
    await c.waitFor((m) => m.type === 'event');
    // A 429 holds the flushed final for 500 ms: the client's close arrives while the shutdown waits for it.
    c.send('error', { code: 429, message: 'Too many requests', retryAfter: 'PT0.5S' });
    await sleep(50);
    const drained = h.server.drain(0);
    await sleep(100);
    expect(c.types()).not.toContain('disconnect');
    c.send('close', { reason: 'end' });
    await c.waitType('closed');
    expect(c.types()).not.toContain('disconnect');
    expect(c.transcripts()).toHaveLength(2);
    await drained;
    expect(h.server.sessionCount).toBe(0);
  });

  it('ends at once when no call is live', async () => {
    h = await startTestServer();
    const started = Date.now();
    await h.server.drain(30_000);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('session logs', () => {
  it('every line of a session carries sessionId, orgId, correlationId (and conversationId after open); text only with LOG_TRANSCRIPTS at debug', async () => {
    for (const logTranscripts of [false, true]) {
      const { log, lines } = capturingLogger('debug');
      h = await startTestServer(logTranscripts ? { LOG_TRANSCRIPTS: 'true' } : {}, undefined, log);
      const c = await TestClient.connect(h.server.url);
      c.open();
      await c.waitType('opened');
      for (const f of utterances()) c.audio(f);
      await c.close();
      await sleep(20);
      const session = lines.filter((l) => l['sessionId'] === c.sessionId);
      expect(session.length).toBeGreaterThanOrEqual(3);
      for (const l of session) expect(l).toMatchObject({ orgId: c.orgId, correlationId: expect.any(String) });
      const opened = session.findIndex((l) => l['msg'] === 'session opened');
      expect(opened).toBeGreaterThanOrEqual(0);
      for (const l of session.slice(opened)) expect(l['conversationId']).toEqual(expect.any(String));
      const texts = lines.filter((l) => typeof l['text'] === 'string');
      if (logTranscripts) {
        expect(texts).toHaveLength(2);
        for (const l of texts) expect(l).toMatchObject({ level: 20, msg: 'transcript sent', text: expect.stringMatching(/^\[speech/) });
      } else {
        expect(texts).toHaveLength(0);
        expect(JSON.stringify(lines)).not.toContain('[speech');
      }
      await h.server.close();
      h = undefined;
    }
  });
});
