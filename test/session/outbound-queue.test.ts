import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OutboundQueue, type OutboundQueueOptions } from '../../src/session/outbound-queue.js';

interface Sent {
  type: string;
  parameters: { n?: number; v?: string };
}

function setup(overrides: Partial<OutboundQueueOptions> = {}) {
  const sent: Sent[] = [];
  const overflows: number[] = [];
  const q = new OutboundQueue({
    ratePerSecond: 5,
    burst: 25,
    maxQueued: 100,
    defaultRetryAfterMs: 3000,
    send: (type, parameters) => sent.push({ type, parameters: parameters as Sent['parameters'] }),
    onOverflow: (n) => overflows.push(n),
    ...overrides,
  });
  const events = () => sent.filter((s) => s.type === 'event').map((s) => s.parameters.n);
  const final = (n: number, coalesceKey?: string) => q.enqueueEvent({ parameters: { n }, isFinal: true, coalesceKey });
  const interim = (n: number, coalesceKey?: string, v?: string) =>
    q.enqueueEvent({ parameters: { n, v }, isFinal: false, coalesceKey });
  return { q, sent, overflows, events, final, interim };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(1_000_000);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('OutboundQueue', () => {
  it('sends a burst of 25 at once, then 5 per second, in order', () => {
    const { q, events, final } = setup();
    for (let i = 0; i < 40; i++) final(i);
    expect(events()).toHaveLength(25);
    expect(q.queued).toBe(15);
    expect(vi.getTimerCount()).toBe(1); // one timer, not one per event
    vi.advanceTimersByTime(199);
    expect(events()).toHaveLength(25);
    vi.advanceTimersByTime(1);
    expect(events()).toHaveLength(26);
    vi.advanceTimersByTime(800);
    expect(events()).toHaveLength(30);
    vi.advanceTimersByTime(2000);
    expect(events()).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(q.queued).toBe(0);
    expect(q.sentEvents).toBe(40);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refills continuously up to the burst only', () => {
    const { events, final } = setup();
    for (let i = 0; i < 25; i++) final(i);
    vi.advanceTimersByTime(60_000); // long idle: back to 25, not 325
    for (let i = 25; i < 60; i++) final(i);
    expect(events()).toHaveLength(50);
  });

  it('never delays control messages, not even during a hold or with a full queue', () => {
    const { q, sent, final } = setup({ maxQueued: 10 });
    for (let i = 0; i < 40; i++) final(i);
    q.holdFor(5000);
    q.sendControl('pong', {});
    q.sendControl('closed', {});
    expect(sent.slice(-2).map((s) => s.type)).toEqual(['pong', 'closed']);
  });

  it('control takes a spare token but never waits for one', () => {
    const { q, events, final } = setup({ burst: 2 });
    q.sendControl('opened', {});
    final(1);
    final(2); // the control used one of the two tokens
    expect(events()).toEqual([1]);
    q.sendControl('pong', {}); // no token: still sent
    vi.advanceTimersByTime(200);
    expect(events()).toEqual([1, 2]);
  });

  it('holds events on a 429 for retryAfter, then restarts with one token', () => {
    const { q, events, final } = setup();
    q.holdFor(2000);
    for (let i = 0; i < 5; i++) final(i);
    expect(events()).toEqual([]);
    vi.advanceTimersByTime(1999);
    expect(events()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(events()).toEqual([0]); // one token, not a burst of 25
    vi.advanceTimersByTime(200);
    expect(events()).toEqual([0, 1]);
    vi.advanceTimersByTime(600);
    expect(events()).toEqual([0, 1, 2, 3, 4]);
  });

  it('uses the default hold when retryAfter is missing or invalid', () => {
    const { q, events, final } = setup();
    q.holdFor();
    final(0);
    vi.advanceTimersByTime(2999);
    expect(events()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(events()).toEqual([0]);
    q.holdFor(Number.NaN);
    final(1);
    vi.advanceTimersByTime(2999);
    expect(events()).toEqual([0]);
    vi.advanceTimersByTime(1);
    expect(events()).toEqual([0, 1]);
  });

  it('extends but never shortens a hold', () => {
    const { q, events, final } = setup();
    q.holdFor(1000);
    final(0);
    vi.advanceTimersByTime(500);
    q.holdFor(2000); // until t=2500
    q.holdFor(100); // ignored
    vi.advanceTimersByTime(1999);
    expect(events()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(events()).toEqual([0]);
  });

  it('coalesces queued interims of the same utterance in place', () => {
    const { q, sent, events, final, interim } = setup({ burst: 1 });
    final(0); // uses the only token
    interim(1, 'u1', 'a');
    final(2);
    interim(1, 'u1', 'ab'); // replaces, keeps its place before 2
    interim(1, 'u1', 'abc');
    interim(3, 'u2', 'x');
    expect(q.queued).toBe(3);
    vi.advanceTimersByTime(1000);
    expect(events()).toEqual([0, 1, 2, 3]);
    expect(sent[1]!.parameters.v).toBe('abc');
    // Once sent, a newer interim is queued afresh (here behind a hold), not merged into history.
    q.holdFor(500);
    interim(1, 'u1', 'abcd');
    interim(1, 'u1', 'abcde');
    vi.advanceTimersByTime(1000);
    expect(sent.map((s) => s.parameters.v).slice(4)).toEqual(['abcde']);
  });

  it('lets a final supersede its queued interims', () => {
    const { q, sent, events, final, interim } = setup({ burst: 1 });
    final(0);
    interim(1, 'u1', 'a');
    interim(2, 'u2', 'b');
    final(1, 'u1');
    expect(q.queued).toBe(2);
    vi.advanceTimersByTime(1000);
    expect(events()).toEqual([0, 2, 1]);
    expect(sent.at(-1)!.parameters.v).toBeUndefined();
  });

  it('sheds interims first on overflow and refuses new ones while over 80%', () => {
    const { q, overflows, events, final, interim } = setup({ burst: 1, maxQueued: 10 });
    final(-1);
    for (let i = 0; i < 9; i++) (i % 3 === 0 ? final : interim)(i);
    interim(9);
    expect(q.queued).toBe(10);
    final(10); // overflow: the 7 interims go
    expect(q.queued).toBe(4);
    expect(q.droppedInterims).toBe(7);
    expect(overflows).toEqual([]);
    interim(11); // under 80% after shedding: accepted
    expect(q.queued).toBe(5);
    vi.advanceTimersByTime(10_000);
    expect(events()).toEqual([-1, 0, 3, 6, 10, 11]);
  });

  it('refuses interims after an overflow of mostly finals until under 80%, then reports finals-only overflow once', () => {
    const { q, overflows, final, interim } = setup({ burst: 1, maxQueued: 10 });
    final(-1);
    for (let i = 0; i < 9; i++) final(i);
    interim(9);
    final(10); // drops interim 9; 9 finals >= 80%: shedding
    expect(q.queued).toBe(10);
    expect(overflows).toEqual([]);
    interim(11);
    expect(q.queued).toBe(10);
    final(12); // finals alone fill it: queued, then reported (with itself counted), keep accepting
    final(13);
    expect(overflows).toEqual([11]);
    expect(q.queued).toBe(12);
    vi.advanceTimersByTime(200 * 4); // down to 8 = 80%: still shedding
    interim(14);
    expect(q.queued).toBe(8);
    vi.advanceTimersByTime(200); // 7 < 8: interims welcome again
    interim(15);
    expect(q.queued).toBe(8);
    expect(q.droppedInterims).toBe(3); // 9 (shed), 11 and 14 (refused)
  });

  it('disableEvents drops the queue and refuses later events', () => {
    const { q, events, final } = setup({ burst: 3 });
    for (let i = 0; i < 10; i++) final(i);
    expect(q.disableEvents()).toBe(7);
    expect(q.queued).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    final(99);
    vi.advanceTimersByTime(5000);
    expect(events()).toEqual([0, 1, 2]);
    q.sendControl('closed', {}); // control still works
  });

  it('drain resolves once the queue is empty', async () => {
    const { q, final } = setup({ burst: 2 });
    expect(await q.drain(1000)).toEqual({ delivered: 0, undelivered: 0 });
    for (let i = 0; i < 6; i++) final(i);
    const done = q.drain(10_000);
    await vi.advanceTimersByTimeAsync(800);
    expect(await done).toEqual({ delivered: 4, undelivered: 0 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('drain gives up after the timeout with what is left', async () => {
    const { q, final } = setup({ burst: 2 });
    for (let i = 0; i < 12; i++) final(i);
    const done = q.drain(1100);
    await vi.advanceTimersByTimeAsync(1100);
    expect(await done).toEqual({ delivered: 5, undelivered: 5 });
    q.dispose();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('drain during a hold longer than the timeout reports everything undelivered', async () => {
    const { q, final } = setup({ burst: 1 });
    final(0);
    final(1);
    q.holdFor(30_000);
    const done = q.drain(2000);
    await vi.advanceTimersByTimeAsync(2000);
    expect(await done).toEqual({ delivered: 0, undelivered: 1 });
    q.dispose();
  });

  it('dispose clears every timer and settles pending drains', async () => {
    const { q, events, final } = setup({ burst: 1 });
    for (let i = 0; i < 5; i++) final(i);
    q.holdFor(1000);
    const done = q.drain(10_000);
    expect(vi.getTimerCount()).toBe(2);
    q.dispose();
    expect(vi.getTimerCount()).toBe(0);
    expect(await done).toEqual({ delivered: 0, undelivered: 4 });
    final(9);
    vi.advanceTimersByTime(10_000);
    expect(events()).toEqual([0]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('validates its options', () => {
    expect(() => setup({ ratePerSecond: 0 })).toThrow();
    expect(() => setup({ burst: 0 })).toThrow();
    expect(() => setup({ maxQueued: 0 })).toThrow();
  });

  it('reports each coalesced interim (replaced, superseded by its final) and how much longer a 429 holds', () => {
    let coalesced = 0;
    const { q, events, final, interim } = setup({ burst: 1, onCoalesced: () => coalesced++ });
    final(0); // takes the only token
    interim(1, 'u1', 'a');
    interim(2, 'u1', 'b'); // replaces the queued hypothesis
    expect(coalesced).toBe(1);
    final(3, 'u1'); // supersedes it
    expect(coalesced).toBe(2);
    expect(q.holdFor(1000)).toBe(1000);
    vi.advanceTimersByTime(400);
    expect(q.holdFor(1000)).toBe(400); // extends the hold from 600 ms left to 1000
    expect(q.holdFor(100)).toBe(0); // shorter than what is left: nothing changes
    vi.advanceTimersByTime(1000);
    expect(events()).toEqual([0, 3]);
  });
});
