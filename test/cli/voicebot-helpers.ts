/**
 * A fake Audio Connector server for the `voicebot` client tests: answers open/ping/close, speaks
 * a tone greeting as paced 1600-byte frames, and after each caller utterance (tone, then silence)
 * sends `bot_turn_response` and a tone reply; after `turns` replies it disconnects with output
 * variables. `misbehave` makes it break one rule, so the client's findings can be asserted.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { encodeMulaw } from '../../src/audio/mulaw.js';
import { writeWav } from '../../src/audio/wav.js';

export const FRAME = 1600;

export function tonePcm(seconds: number, hz = 440, amplitude = 8000): Int16Array {
  const n = Math.round(seconds * 8000);
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / 8000));
  return pcm;
}

/** Whole 1600-byte µ-law frames of a tone. */
export function toneFrames(seconds: number): Buffer[] {
  const mu = Buffer.from(encodeMulaw(tonePcm(seconds)));
  const frames: Buffer[] = [];
  for (let at = 0; at + FRAME <= mu.length; at += FRAME) frames.push(mu.subarray(at, at + FRAME));
  return frames;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'voicebot-'));
}

/** An 8 kHz mono WAV of a tone (PCM16 or µ-law) in `dir`. */
export function writeToneWav(dir: string, name: string, seconds: number, format: 'L16' | 'PCMU' = 'L16', rate = 8000): string {
  const pcm = tonePcm(seconds);
  const data = format === 'PCMU' ? encodeMulaw(pcm) : new Uint8Array(pcm.buffer);
  const file = join(dir, name);
  writeFileSync(file, writeWav({ sampleRate: rate, channels: 1, format, data }));
  return file;
}

export function writeScript(dir: string, steps: unknown[]): string {
  const file = join(dir, 'script.json');
  writeFileSync(file, JSON.stringify({ steps }));
  return file;
}

export type Misbehaviour = 'small-frame' | 'riff' | 'burst' | 'ahead';

export interface FakeBotOptions {
  greetingSeconds?: number;
  replySeconds?: number;
  /** Replies before the bot disconnects (0: never disconnects). */
  turns?: number;
  /** Frames sent ahead of real time at the start of each prompt (a small lead, as a real server keeps). */
  leadFrames?: number;
  misbehave?: Misbehaviour;
  /** Stop speaking and send `barge_in` when the caller talks over a prompt. */
  bargeIn?: boolean;
}

export interface FakeSession {
  open?: Record<string, unknown>;
  /** Client text messages with their arrival time (performance.now()). */
  messages: Array<{ type: string; at: number; parameters: Record<string, unknown> }>;
  callerFrames: Buffer[];
  /** Prompts the bot sent: first and last frame's send time, frame count. */
  prompts: Array<{ firstAt: number; lastAt: number; frames: number; stopped: boolean }>;
}

export async function startFakeAudioConnector(opts: FakeBotOptions = {}): Promise<{
  url: string;
  sessions: FakeSession[];
  close: () => Promise<void>;
}> {
  const greeting = opts.greetingSeconds ?? 1;
  const reply = opts.replySeconds ?? 0.6;
  const turns = opts.turns ?? 1;
  const lead = opts.leadFrames ?? 2;
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const sessions: FakeSession[] = [];
  const timers = new Set<NodeJS.Timeout>();

  wss.on('connection', (ws: WebSocket) => {
    const s: FakeSession = { messages: [], callerFrames: [], prompts: [] };
    sessions.push(s);
    let seq = 0;
    let clientseq = 0;
    let id = '';
    let speaking: { timer?: NodeJS.Timeout; prompt: FakeSession['prompts'][number] } | undefined;
    let callerTalking = false;
    let replies = 0;
    let disconnected = false;
    let onCompleted: (() => void) | undefined;
    const send = (type: string, parameters: Record<string, unknown> = {}): void => {
      seq += 1;
      ws.send(JSON.stringify({ version: '2', id, type, seq, clientseq, parameters }));
    };
    const after = (ms: number, fn: () => void): void => {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    };

    const speak = (seconds: number, then?: () => void): void => {
      const frames: Buffer[] = toneFrames(seconds).map((f) => Buffer.from(f));
      const mode = opts.misbehave;
      if (mode === 'riff') frames[0]?.write('RIFF', 0, 'latin1');
      if (mode === 'small-frame' && frames.length > 2) frames[1] = (frames[1] as Buffer).subarray(0, 1000);
      const prompt = { firstAt: performance.now(), lastAt: 0, frames: 0, stopped: false };
      s.prompts.push(prompt);
      const start = performance.now();
      let k = 0;
      const out = (): void => {
        if (ws.readyState !== ws.OPEN) return;
        ws.send(frames[k] as Buffer);
        prompt.frames += 1;
        prompt.lastAt = performance.now();
        k += 1;
      };
      // burst: everything at once; ahead: 3 s of audio at once, then real time.
      const ahead = mode === 'burst' ? frames.length : mode === 'ahead' ? 15 : lead;
      while (k < Math.min(ahead, frames.length)) out();
      const timer = setInterval(() => {
        // Frame k is due k × 200 ms after the start, minus the lead.
        while (k < frames.length && performance.now() >= start + (k - ahead + 1) * 200) out();
        if (k >= frames.length) {
          clearInterval(timer);
          speaking = undefined;
          if (then) after(Math.max(0, start + frames.length * 200 - performance.now()), then);
        }
      }, 20);
      speaking = { timer, prompt };
    };

    const stop = (): void => {
      if (!speaking) return;
      clearInterval(speaking.timer);
      speaking.prompt.stopped = true;
      speaking = undefined;
    };

    const answer = (): void => {
      replies += 1;
      send('event', { entities: [{ type: 'bot_turn_response', data: { disposition: 'match', text: `We are open nine to five (turn ${replies})`, confidence: 0.82 } }] });
      const last = turns > 0 && replies >= turns;
      if (!last) return speak(reply);
      // As a careful bot does: hang up once the goodbye has been heard (playback_completed), or
      // on its own clock a second after the audio should have played out.
      const bye = (): void => {
        if (disconnected || ws.readyState !== ws.OPEN) return;
        disconnected = true;
        send('disconnect', { reason: 'completed', outputVariables: { intent: 'goodbye', turns: String(replies) } });
      };
      const completedBefore = s.messages.filter((m) => m.type === 'playback_completed').length;
      onCompleted = () => s.messages.filter((m) => m.type === 'playback_completed').length > completedBefore && bye();
      speak(reply, () => after(1000, bye));
    };

    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        s.callerFrames.push(Buffer.from(data));
        const loud = data.some((b) => b !== 0xff);
        if (loud && !callerTalking) {
          callerTalking = true;
          if (speaking && opts.bargeIn) {
            stop();
            send('event', { entities: [{ type: 'barge_in', data: {} }] });
          }
        } else if (!loud && callerTalking) {
          callerTalking = false;
          if (!disconnected && !speaking) answer();
        }
        return;
      }
      const m = JSON.parse(String(data)) as { type: string; seq: number; id: string; parameters: Record<string, unknown> };
      clientseq = m.seq;
      s.messages.push({ type: m.type, at: performance.now(), parameters: m.parameters });
      switch (m.type) {
        case 'open':
          id = m.id;
          s.open = m.parameters;
          send('opened', { media: [(m.parameters.media as unknown[])[0]], startPaused: false });
          after(300, () => speak(greeting));
          break;
        case 'ping':
          send('pong');
          break;
        case 'playback_completed':
          onCompleted?.();
          break;
        case 'close':
          stop();
          send('closed');
          break;
      }
    });
    ws.on('close', () => stop());
  });

  const port = (wss.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}/audioconnector/test`,
    sessions,
    close: () =>
      new Promise<void>((r) => {
        for (const t of timers) clearTimeout(t);
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  };
}
