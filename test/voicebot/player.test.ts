/**
 * The bot's audio pacer: 1,600-byte frames, the last padded with µ-law silence, a few frames
 * ahead of the caller's play-out, within its own 5/s burst-25 bucket, held by a 429 and a pause.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BotAudioPlayer, FRAME_BYTES, MULAW_SILENCE } from '../../src/voicebot/player.js';

function setup(options: Partial<{ leadFrames: number; perSecond: number; burst: number }> = {}) {
  const sent: { at: number; frame: Uint8Array }[] = [];
  const started: number[] = [];
  let idle = 0;
  const player = new BotAudioPlayer({
    leadFrames: 3,
    perSecond: 5,
    burst: 25,
    ...options,
    send: (frame) => sent.push({ at: Date.now(), frame }),
    onPromptStarted: (p) => started.push(p.id),
    onIdle: () => (idle += 1),
  });
  return { player, sent, started, idle: () => idle };
}

const audio = (bytes: number, value = 0x55) => new Uint8Array(bytes).fill(value);

describe('BotAudioPlayer', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('cuts 200 ms frames, pads the last with 0xFF and keeps three frames ahead in real time', () => {
    const { player, sent, started, idle } = setup();
    const prompt = player.start();
    prompt.write(audio(10 * FRAME_BYTES + 100));
    prompt.end();
    // Three frames at once (the lead), then one every 200 ms.
    expect(sent.length).toBe(3);
    expect(started).toEqual([prompt.id]);
    vi.advanceTimersByTime(200);
    expect(sent.length).toBe(4);
    vi.advanceTimersByTime(1800);
    expect(sent.length).toBe(11);
    expect(sent.every((s) => s.frame.byteLength === FRAME_BYTES)).toBe(true);
    const last = sent[10]!.frame;
    expect(last[99]).toBe(0x55);
    expect(last.subarray(100).every((b) => b === MULAW_SILENCE)).toBe(true);
    // Idle once the caller has heard the last frame (its play-out ends 11 × 200 ms after the start).
    expect(idle()).toBe(0);
    vi.advanceTimersByTime(200 * 11 - 2000 + 1);
    expect(idle()).toBe(1);
    // Paced: frame k (k ≥ 3) leaves (k − 2) × 200 ms after the first.
    const t0 = sent[0]!.at;
    sent.forEach((s, k) => expect(s.at - t0).toBe(Math.max(0, k - 2) * 200));
  });

  it('never sends more than the bucket allows, whatever the lead', () => {
    const { player, sent } = setup({ leadFrames: 25, burst: 4, perSecond: 5 });
    const prompt = player.start();
    prompt.write(audio(30 * FRAME_BYTES));
    prompt.end();
    expect(sent.length).toBe(4);
    vi.advanceTimersByTime(1000);
    expect(sent.length).toBe(9);
  });

  it('waits for synthesis slower than real time and restarts its clock after an underrun', () => {
    const { player, sent } = setup();
    const prompt = player.start();
    prompt.write(audio(FRAME_BYTES + 10));
    expect(sent.length).toBe(1);
    vi.advanceTimersByTime(1000);
    prompt.write(audio(FRAME_BYTES));
    // The caller's buffer ran dry: the clock restarts, the next frames go at once (lead again).
    expect(sent.length).toBe(2);
    prompt.end();
    expect(sent.length).toBe(3);
  });

  it('a 429 holds the audio for retryAfter; a suspension holds it until resumed', () => {
    const { player, sent } = setup();
    const prompt = player.start();
    prompt.write(audio(20 * FRAME_BYTES));
    prompt.end();
    expect(sent.length).toBe(3);
    player.holdFor(2000);
    vi.advanceTimersByTime(1999);
    expect(sent.length).toBe(3);
    vi.advanceTimersByTime(400);
    expect(sent.length).toBeGreaterThan(3);
    const before = sent.length;
    player.suspend('paused');
    vi.advanceTimersByTime(5000);
    expect(sent.length).toBe(before);
    player.resume('paused');
    expect(sent.length).toBeGreaterThan(before);
  });

  it('stop drops the queue; heardMs follows the play-out clock', () => {
    const { player, sent } = setup();
    const prompt = player.start();
    prompt.write(audio(20 * FRAME_BYTES));
    prompt.end();
    vi.advanceTimersByTime(1000);
    const n = sent.length; // 3 + 5
    expect(n).toBe(8);
    expect(player.heardMs(prompt)).toBe(1000);
    player.stop();
    vi.advanceTimersByTime(5000);
    expect(sent.length).toBe(n);
    expect(player.hasQueued).toBe(false);
    expect(player.heardMs(prompt)).toBe(n * 200);
  });

  it('plays prompts one after the other, each starting on its own frame', () => {
    const { player, sent, started } = setup();
    const a = player.start();
    const b = player.start();
    b.write(audio(FRAME_BYTES, 0x22));
    b.end();
    expect(sent.length).toBe(0); // b waits for a
    a.write(audio(100, 0x11));
    a.end();
    expect(sent.length).toBe(2);
    expect(sent[0]!.frame[0]).toBe(0x11);
    expect(sent[0]!.frame[100]).toBe(MULAW_SILENCE);
    expect(sent[1]!.frame[0]).toBe(0x22);
    expect(started).toEqual([a.id, b.id]);
  });
});
