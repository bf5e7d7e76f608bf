/**
 * Genesys backpressure (protocol §7) against the real server and the simulated engine: a burst of
 * transcripts while the client answers 429 again and again. Every transcript must still arrive,
 * in order, none during a hold the client asked for, while pings and `close` are answered on time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAudioSource } from '../../src/cli/client/audio-source.js';
import { runSession } from '../../src/cli/client/session.js';
import { parseDuration } from '../../src/protocol/duration.js';
import { API_KEY, CLIENT_SECRET, ORG_ID, pcmuFrames, sleep, startTestServer, TestClient, tone, type Msg } from './harness.js';

let h: Awaited<ReturnType<typeof startTestServer>> | undefined;
afterEach(async () => {
  await h?.server.close();
  h = undefined;
});

/** One sample's value from Prometheus text, by name. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/**
 * Short utterances on both channels: every PERIOD seconds a 0.25 s tone, the agent's 0.4 s after
 * the customer's, so the two interleave. The silence after each (0.55 s) is longer than the
 * simulated engine's 400 ms end of utterance: one final per tone.
 */
const PER_CHANNEL = 16;
const PERIOD = 0.8;
const TONE = 0.25;
const starts = (channelId: number): number[] => Array.from({ length: PER_CHANNEL }, (_, i) => 0.2 + i * PERIOD + channelId * PERIOD / 2);
const CALL_SECONDS = PER_CHANNEL * PERIOD + 0.8;
const spans = (channelId: number): Array<[number, number]> => starts(channelId).map((s) => [s, s + TONE]);

const RETRY_AFTER_MS = 500;
/** The client answers every event with 429 for this long after the first one, then stops. */
const ANSWER_429_FOR_MS = 3000;
/** An event written before the server read a 429 may still be on its way when the 429 leaves. */
const IN_FLIGHT_MS = 100;
/** The server measures its hold in whole milliseconds from reading the 429 (never before we sent it). */
const HOLD_END_SLACK_MS = 5;
const PONG_WITHIN_MS = 100;

interface Arrival { m: Msg; at: number }

describe('Genesys backpressure: 429 again and again during a burst of transcripts', () => {
  it('delivers every transcript in order, none during a hold, with pongs and closed on time', async () => {
    h = await startTestServer({ DEFAULT_SPEECH_PROVIDER: 'simulated' });
    const c = await TestClient.connect(h.server.url);
    const arrivals: Arrival[] = [];
    const holds: Array<{ seq: number; at: number }> = [];
    const pings: Array<{ seq: number; at: number }> = [];
    let firstEventAt: number | undefined;

    // Reacts to each message as it arrives (after TestClient has stored it), as Genesys would.
    c.ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const at = performance.now();
      const m = JSON.parse(String(data)) as Msg;
      arrivals.push({ m, at });
      if (m.type !== 'event') return;
      firstEventAt ??= at;
      if (at - firstEventAt < ANSWER_429_FOR_MS) {
        const seq = c.send('error', { code: 429, message: 'Too many requests', retryAfter: `PT${RETRY_AFTER_MS / 1000}S` });
        holds.push({ seq, at: performance.now() });
      }
    });

    c.open();
    await c.waitType('opened');
    const pinger = setInterval(() => pings.push({ seq: c.send('ping'), at: performance.now() }), 250);
    try {
      // The call at 10× real time: 20 ms per 200 ms frame.
      for (const f of pcmuFrames([tone(CALL_SECONDS, spans(0)), tone(CALL_SECONDS, spans(1))])) {
        c.audio(f);
        await sleep(20);
      }
      const queued = ((await (await fetch(`${h.httpUrl}/stats`)).json()) as { eventsQueued: number }).eventsQueued;
      await c.waitType('event', 2000);
      await sleep(Math.max(0, firstEventAt! + ANSWER_429_FOR_MS - performance.now()));
      const closeAt = performance.now();
      const closeSeq = c.send('close', { reason: 'end' });
      const closed = await c.waitType('closed', h.config.closeFlushTimeoutMs + 2000);
      const closedAt = arrivals.find((a) => a.m.seq === closed.seq)!.at;
      clearInterval(pinger);

      // The burst: dozens of finals waited in the queue, and the client said 429 many times.
      const events = arrivals.filter((a) => a.m.type === 'event');
      expect(queued, 'finals waiting in the server when the audio was all sent').toBeGreaterThanOrEqual(24);
      expect(events.filter((a) => a.at > closeAt).length, 'finals still to come at close').toBeGreaterThanOrEqual(12);
      expect(holds.length).toBeGreaterThanOrEqual(5);

      // Every transcript, once, in order per channel, each where its tone is.
      const data = events.map((a) => a.m.parameters['entities'][0].data as { id: string; channelId: number; isFinal: boolean; offset: string });
      expect(data).toHaveLength(PER_CHANNEL * 2);
      expect(new Set(data.map((d) => d.id)).size).toBe(data.length);
      expect(data.every((d) => d.isFinal)).toBe(true);
      for (const channelId of [0, 1]) {
        const offsets = data.filter((d) => d.channelId === channelId).map((d) => parseDuration(d.offset)!);
        expect(offsets).toHaveLength(PER_CHANNEL);
        offsets.forEach((o, i) => expect(Math.abs(o - starts(channelId)[i]!), `channel ${channelId} utterance ${i} at ${o}`).toBeLessThan(0.1));
      }

      // No event during a hold: none the server wrote after reading a 429 (its clientseq says so)
      // before retryAfter was over, and none at all in a hold but those already on their way.
      for (const e of events) {
        for (const hold of holds) {
          const inHold = e.at > hold.at && e.at < hold.at + RETRY_AFTER_MS - HOLD_END_SLACK_MS;
          expect(inHold && e.m.clientseq >= hold.seq, `event ${e.m.seq} written after 429 seq ${hold.seq}, ${Math.round(e.at - hold.at)} ms into its hold`).toBe(false);
          expect(inHold && e.at > hold.at + IN_FLIGHT_MS, `event ${e.m.seq} ${Math.round(e.at - hold.at)} ms into the hold of 429 seq ${hold.seq}`).toBe(false);
        }
      }

      // Pings answered at once throughout, holds or not. A ping the server read before it wrote
      // `closed` (closed.clientseq) must have its pong; later ones reached an ended session.
      const answered = pings.filter((p) => p.seq <= closed.clientseq);
      expect(answered.length).toBeGreaterThanOrEqual(20);
      for (const p of answered) {
        const pong = arrivals.find((a) => a.m.type === 'pong' && a.m.clientseq === p.seq);
        expect(pong, `pong for ping ${p.seq}`).toBeDefined();
        expect(pong!.at - p.at, `pong for ping ${p.seq}`).toBeLessThan(PONG_WITHIN_MS);
      }

      // `closed` answers the close after the last event, without waiting for the flush deadline.
      expect(closed.clientseq).toBeGreaterThanOrEqual(closeSeq);
      expect(arrivals.at(-1)!.m.type).toBe('closed');
      expect(closedAt - closeAt).toBeLessThan(h.config.closeFlushTimeoutMs);
      expect(closedAt - events.at(-1)!.at).toBeLessThan(250);
      expect(c.messages.map((m) => m.seq)).toEqual(c.messages.map((_, i) => i + 1));

      // The server counted each 429 and lost nothing.
      await sleep(50);
      const metrics = await (await fetch(`${h.httpUrl}/metrics`)).text();
      expect(sample(metrics, 'audiohook_client_rate_limited_total')).toBe(holds.length);
      const stats = (await (await fetch(`${h.httpUrl}/stats`)).json()) as Record<string, unknown>;
      expect(stats.eventsUndelivered).toBe(0);
      expect(stats.eventsSent).toBe(PER_CHANNEL * 2);
    } finally {
      clearInterval(pinger);
      c.ws.close();
    }
  }, 30_000);

  it('passes the CLI client answering 429 as Genesys does, against a server set faster than Genesys allows', async () => {
    // 50/s with bursts of 50: over Genesys' 5/s (burst 25), so the client answers 429s and the
    // server must hold each time.
    h = await startTestServer({ DEFAULT_SPEECH_PROVIDER: 'simulated', RATE_LIMIT_PER_SECOND: '50', RATE_LIMIT_BURST: '50' });
    const source = createAudioSource('bursts', { external: tone(CALL_SECONDS, spans(0)), internal: tone(CALL_SECONDS, spans(1)) });
    const summary = await runSession({
      url: h.server.url,
      apiKey: API_KEY,
      clientSecret: CLIENT_SECRET,
      organizationId: ORG_ID,
      source,
      // All 32 finals within about a second: over Genesys' burst, so the client answers 429.
      speed: 40,
      timers: { firstPingMs: 100, pingIntervalMs: 300 },
      answer429: { retryAfterSeconds: RETRY_AFTER_MS / 1000 },
    });
    expect(summary.failure).toBeUndefined();
    expect(summary.protocolErrors).toEqual([]);
    expect(summary.closed).toBe(true);
    expect(summary.finals).toBe(PER_CHANNEL * 2);
    expect(summary.rateLimitAnswers).toBeGreaterThan(0);
    expect(summary.pongs).toBe(summary.pings);
    await sleep(50);
    const metrics = await (await fetch(`${h.httpUrl}/metrics`)).text();
    // A 429 answering the very last event can cross `closed`, which follows that event at once:
    // it then reaches an ended session, and is rightly not counted.
    const counted = sample(metrics, 'audiohook_client_rate_limited_total')!;
    expect(counted).toBeLessThanOrEqual(summary.rateLimitAnswers!);
    expect(counted).toBeGreaterThanOrEqual(summary.rateLimitAnswers! - 1);
    const stats = (await (await fetch(`${h.httpUrl}/stats`)).json()) as Record<string, unknown>;
    expect(stats.eventsUndelivered).toBe(0);
  }, 30_000);
});
