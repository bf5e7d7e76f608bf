/** Scripted fake servers: ones that break the protocol (the client must notice, report and fail), and one that pauses. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { writeWav } from '../../src/audio/wav.js';
import { silenceSource } from '../../src/cli/client/audio-source.js';
import { runSession } from '../../src/cli/client/session.js';
import { reply, run, startFakeServer } from './helpers.js';

type Handler = Parameters<typeof startFakeServer>[0];
let fake: Awaited<ReturnType<typeof startFakeServer>> | undefined;
let wav: string;

beforeAll(() => {
  // Two seconds of silence: long enough for a ping at 1 s (sped up 1x).
  const dir = mkdtempSync(join(tmpdir(), 'cli-violations-'));
  wav = join(dir, 'silence.wav');
  writeFileSync(wav, writeWav({ sampleRate: 8000, channels: 2, format: 'PCMU', data: new Uint8Array(16000 * 2).fill(0xff) }));
});
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const STEREO = { type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 };
const transcript = (offset: string) => ({
  entities: [{
    type: 'transcript',
    data: {
      id: 'c1b3e6d0-3b9a-4b8e-9c61-9b0f8f3b1a11', channelId: 0, isFinal: true, offset, duration: 'PT1S',
      alternatives: [{ confidence: 0.9, languages: ['en-US'], interpretations: [{ type: 'display', transcript: 'hello' }] }],
    },
  }],
});

/** A well-behaved fake, with one hook to misbehave. */
function fakeWith(misbehave: Partial<Record<string, Handler>>): Handler {
  return (msg, ws: WebSocket, state) => {
    const custom = misbehave[msg.type as string];
    if (custom) return custom(msg, ws, state);
    if (msg.type === 'open') reply(ws, state, msg, 'opened', { media: [STEREO], startPaused: false });
    else if (msg.type === 'ping') reply(ws, state, msg, 'pong');
    else if (msg.type === 'close') reply(ws, state, msg, 'closed');
  };
}

async function runAgainst(handler: Handler, extra: string[] = []) {
  fake = await startFakeServer(handler);
  return run(['--url', fake.url, '--speed', '4', ...extra, wav]);
}

describe('against scripted fake servers', () => {
  it('passes against the well-behaved fake (control)', async () => {
    const r = await runAgainst(fakeWith({}));
    expect(r.code, r.err.join('\n')).toBe(0);
  });

  it('detects a skipped server seq, reports it and exits 1', async () => {
    const r = await runAgainst(
      fakeWith({
        open: (msg, ws, state) => {
          reply(ws, state, msg, 'opened', { media: [STEREO], startPaused: false });
          reply(ws, state, msg, 'event', transcript('PT0.5S'), state.seq + 2); // seq 3: 2 is missing
        },
      }),
    );
    expect(r.code).toBe(1);
    expect(r.err.join('\n')).toContain('server seq gap: expected 2, got 3 (event)');
    expect(r.err.join('\n')).toMatch(/FAILED[\s\S]*protocol errors: 1/);
  });

  it('rejects a message without parameters', async () => {
    // Real time: the first ping goes out 1 s after opened.
    const r = await runAgainst(fakeWith({ ping: (msg, ws, state) => reply(ws, state, msg, 'pong', null) }), ['--speed', '1']);
    expect(r.code).toBe(1);
    expect(r.err.join('\n')).toContain('malformed server message: missing parameters');
  });

  it('rejects a media choice that was not offered', async () => {
    const r = await runAgainst(
      fakeWith({ open: (msg, ws, state) => reply(ws, state, msg, 'opened', { media: [{ ...STEREO, rate: 16000 }] }) }),
    );
    expect(r.code).toBe(1);
    expect(r.err.join('\n')).toMatch(/opened\.media .* is not one of the offers/);
  });

  it('rejects a pong that does not answer the ping', async () => {
    const r = await runAgainst(
      fakeWith({ ping: (msg, ws, state) => reply(ws, state, { ...msg, seq: (msg.seq as number) - 1 }, 'pong') }),
      ['--speed', '1'],
    );
    expect(r.code).toBe(1);
    expect(r.err.join('\n')).toMatch(/pong\.clientseq \d+ does not answer ping seq \d+/);
  });

  it('rejects transcript offsets that are not PT<seconds>S', async () => {
    const r = await runAgainst(
      fakeWith({
        open: (msg, ws, state) => {
          reply(ws, state, msg, 'opened', { media: [STEREO], startPaused: false });
          reply(ws, state, msg, 'event', transcript('PT1M5S'));
        },
      }),
      ['--json'],
    );
    expect(r.code).toBe(1);
    const summary = r.json.find((l) => l.type === 'summary');
    expect(summary?.protocolErrors).toEqual(['transcript offset "PT1M5S" is not PT<seconds>S']);
  });

  it('gives up when opened never comes, and when closed never comes', async () => {
    fake = await startFakeServer(() => undefined);
    const noOpened = await runSession({
      url: fake.url, apiKey: 'k', organizationId: 'd7934305-0972-4844-938e-9060eef73d05', probe: true,
      timers: { openMs: 200 },
    });
    expect(noOpened.failure).toBe('open timed out (408)');
    await fake.close();

    fake = await startFakeServer(fakeWith({ close: () => undefined }));
    const noClosed = await runSession({
      url: fake.url, apiKey: 'k', organizationId: 'd7934305-0972-4844-938e-9060eef73d05',
      source: silenceSource(0.4), speed: 4, timers: { closeMs: 200 },
    });
    expect(noClosed.failure).toBe('close timed out (408)');
    expect(noClosed.protocolErrors).toEqual(['no closed within 0.2 s']);
  });

  it('answers a server pause with paused and a server resume with resumed, declaring the gap', async () => {
    const client: Array<Record<string, unknown>> = [];
    fake = await startFakeServer(
      fakeWith({
        open: (msg, ws, state) => {
          reply(ws, state, msg, 'opened', { media: [STEREO], startPaused: false });
          setTimeout(() => reply(ws, state, msg, 'pause'), 100);
          setTimeout(() => reply(ws, state, msg, 'resume'), 400);
        },
        paused: (msg) => void client.push(msg),
        resumed: (msg) => void client.push(msg),
      }),
    );
    const r = await run(['--url', fake.url, '--json', wav]);
    expect(r.code, r.out.join('\n')).toBe(0);
    expect(client.map((m) => m.type)).toEqual(['paused', 'resumed']);
    const params = client[1]?.parameters as { start: string; discarded: string };
    // ~0.1 s in, ~0.3 s long, on the 200 ms grid.
    expect(['PT0S', 'PT0.2S']).toContain(params.start);
    expect(['PT0.2S', 'PT0.4S']).toContain(params.discarded);
    expect(r.json.find((l) => l.type === 'summary')).toMatchObject({ serverPauses: 1, positionSeconds: 2 });
  });

  it('fails a session the server disconnects with an error, after answering with close', async () => {
    const seen: string[] = [];
    const r = await runAgainst((msg, ws, state) => {
      seen.push(msg.type as string);
      if (msg.type === 'open') reply(ws, state, msg, 'disconnect', { reason: 'error', info: 'no supported media' });
      if (msg.type === 'close') reply(ws, state, msg, 'closed');
    });
    expect(r.code).toBe(1);
    expect(seen).toEqual(['open', 'close']);
    expect(r.err.join('\n')).toContain('server disconnect: error (no supported media)');
  });
});
