/** `voicebot` against a fake Audio Connector: the Genesys-like caller, playback events, DTMF, recording and findings. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWav } from '../../src/audio/wav.js';
import { voicebot } from '../../src/cli/voicebot/command.js';
import type { VoiceBotCallResult } from '../../src/cli/voicebot/report.js';
import { runVoiceBotCall, type VoiceBotCallOptions } from '../../src/cli/voicebot/run.js';
import { loadScript } from '../../src/cli/voicebot/script.js';
import { startFakeAudioConnector, tempDir, writeScript, writeToneWav, type FakeBotOptions } from './voicebot-helpers.js';

let server: Awaited<ReturnType<typeof startFakeAudioConnector>> | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function call(fake: FakeBotOptions, steps: unknown[], extra: Partial<VoiceBotCallOptions> = {}): Promise<VoiceBotCallResult> {
  server = await startFakeAudioConnector(fake);
  const dir = tempDir();
  writeToneWav(dir, 'say.wav', 0.6);
  const script = await loadScript(writeScript(dir, steps));
  return runVoiceBotCall({
    url: server.url,
    apiKey: 'k',
    organizationId: 'd7934305-0972-4844-938e-9060eef73d05',
    language: 'en-US',
    inputVariables: {},
    ani: '+1555',
    dnis: '+1666',
    script,
    maxSeconds: 10,
    maxLeadMs: 1000,
    playbackEvents: true,
    expectNoAudio: false,
    promptTimeoutSeconds: 5,
    ...extra,
  });
}

async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await voicebot(args, { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  return { code, out, err };
}

describe('voicebot call', () => {
  it('plays a turn after the greeting, answers playback like Genesys, records the bot on the timeline', async () => {
    const dir = tempDir();
    const wav = writeToneWav(dir, 'hello.wav', 0.6, 'PCMU');
    const record = join(dir, 'bot.wav');
    server = await startFakeAudioConnector({ greetingSeconds: 1, replySeconds: 0.6 });
    const r = await cli(['--url', server.url, '--json', '--var', 'lang=en', '--var', 'x=a=b', '--ani', '+123', '--dnis', '+456', '--record', record, wav]);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out.at(-1) as string) as VoiceBotCallResult;
    expect(res.ok && res.clean).toBe(true);
    expect(res.prompts.map((p) => p.frames)).toEqual([5, 3]);
    expect(res.frames).toBe(8);
    expect(res.botSeconds).toBeCloseTo(1.6, 5);
    expect(res.disconnect).toEqual({ reason: 'completed', outputVariables: { intent: 'goodbye', turns: '1' } });
    expect(res.botTurnResponses).toMatchObject([{ disposition: 'match', confidence: 0.82 }]);
    expect(res.findings.lead.maxMs).toBeGreaterThan(300); // two frames ahead, then real time
    expect(res.findings.lead.maxMs).toBeLessThan(600);

    // The caller spoke after the greeting had played out (+ the 600 ms gap and 0.5 s), and the bot answered.
    const [turn] = res.turns;
    expect(turn?.start).toBeGreaterThanOrEqual((res.prompts[0]?.end ?? 0) + 1.1 - 0.01);
    expect(turn?.latencyMs).toBeGreaterThanOrEqual(0);
    expect(turn?.latencyMs).toBeLessThan(600);

    const s = server.sessions[0];
    // open as Audio Connector sends it.
    expect(s?.open).toMatchObject({
      media: [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }],
      inputVariables: { lang: 'en', x: 'a=b' },
      participant: { ani: '+123', dnis: '+456' },
      language: 'en-US',
    });
    // Caller audio: 1600-byte frames, µ-law silence (0xFF) when not speaking.
    expect(s?.callerFrames.every((f) => f.length === 1600)).toBe(true);
    expect(s?.callerFrames[0]?.every((b) => b === 0xff)).toBe(true);
    // playback_started at the first frame, completed once the prompt has played out.
    const types = (s?.messages ?? []).map((m) => m.type).filter((t) => t.startsWith('playback') || t === 'close');
    expect(types).toEqual(['playback_started', 'playback_completed', 'playback_started', 'playback_completed', 'close']);
    const at = (type: string, n: number) => (s?.messages ?? []).filter((m) => m.type === type)[n]?.at ?? NaN;
    const greeting = s?.prompts[0];
    expect(at('playback_started', 0) - (greeting?.firstAt ?? 0)).toBeLessThan(100);
    expect(at('playback_completed', 0) - at('playback_started', 0)).toBeGreaterThanOrEqual(1000 - 10);
    expect(at('playback_completed', 0) - at('playback_started', 0)).toBeLessThan(1000 + 200);
    expect(at('playback_completed', 1) - at('playback_started', 1)).toBeGreaterThanOrEqual(600 - 10);
    expect((s?.messages ?? []).find((m) => m.type === 'close')?.parameters).toEqual({ reason: 'disconnect' });

    // The recording: silence, the greeting where it played, silence, the reply where it played.
    const wavOut = parseWav(readFileSync(record));
    expect([wavOut.sampleRate, wavOut.channels, wavOut.format]).toEqual([8000, 1, 'PCMU']);
    const loud = (from: number, to: number) => wavOut.data.subarray(Math.round(from * 8000), Math.round(to * 8000)).some((b) => b !== 0xff);
    const [p1, p2] = res.prompts;
    expect(loud(0, (p1?.start ?? 0) - 0.01)).toBe(false);
    expect(loud(p1?.start ?? 0, (p1?.start ?? 0) + 0.1)).toBe(true);
    expect(loud((p1?.start ?? 0) + 0.9, (p1?.start ?? 0) + 1.0)).toBe(true);
    expect(loud((p1?.end ?? 0) + 0.01, (p2?.start ?? 0) - 0.01)).toBe(false);
    expect(loud(p2?.start ?? 0, (p2?.start ?? 0) + 0.55)).toBe(true);
    expect(wavOut.data.length / 8000).toBeCloseTo(p2?.end ?? 0, 1);
  });

  it('sends DTMF digits in order 250 ms apart, then hangs up with close {reason: end}', async () => {
    const res = await call({ turns: 0 }, [{ after: 'prompt', dtmf: '12#' }, { after: 0.2, hangup: true }]);
    expect(res.ok).toBe(true);
    expect(res.dtmfSent).toBe(3);
    const msgs = server?.sessions[0]?.messages ?? [];
    const dtmf = msgs.filter((m) => m.type === 'dtmf');
    expect(dtmf.map((m) => m.parameters.digit)).toEqual(['1', '2', '#']);
    for (let i = 1; i < dtmf.length; i++) {
      const gap = (dtmf[i]?.at ?? 0) - (dtmf[i - 1]?.at ?? 0);
      expect(gap).toBeGreaterThan(200);
      expect(gap).toBeLessThan(330);
    }
    // close comes after the last digit + 250 ms + the 0.2 s of the hangup step.
    const close = msgs.find((m) => m.type === 'close');
    expect(close?.parameters).toEqual({ reason: 'end' });
    expect((close?.at ?? 0) - (dtmf[2]?.at ?? 0)).toBeGreaterThan(400);
    expect(res.events.filter((e) => e.type === 'dtmf').map((e) => e.text)).toEqual(['☎ dtmf 1', '☎ dtmf 2', '☎ dtmf #']);
  });

  it('--no-playback-events sends none', async () => {
    const res = await call({ turns: 1 }, [{ after: 'prompt', play: 'say.wav' }], { playbackEvents: false });
    expect(res.ok).toBe(true);
    expect(res.prompts).toHaveLength(2);
    expect(server?.sessions[0]?.messages.some((m) => m.type.startsWith('playback'))).toBe(false);
  });

  it('barge-in: the caller talks over the prompt; the bot stops and the player drops its queue', async () => {
    const res = await call({ greetingSeconds: 3, leadFrames: 5, bargeIn: true, turns: 1 }, [
      { after: 'prompt-start', delay: 0.8, play: 'say.wav' },
    ]);
    expect(res.ok).toBe(true);
    expect(res.bargeIns).toBe(1);
    const first = res.prompts[0];
    expect(first?.cutSeconds).toBeGreaterThan(0.3); // a second ahead was queued, some of it dropped
    expect(first?.seconds).toBeLessThan(3);
    // The caller started ~0.8 s into the prompt (next 200 ms frame).
    expect((res.turns[0]?.start ?? 0) - (first?.start ?? 0)).toBeGreaterThanOrEqual(0.8 - 0.01);
    expect((res.turns[0]?.start ?? 0) - (first?.start ?? 0)).toBeLessThan(1.05);
    // playback_completed follows the barge_in at once, not when the dropped audio would have ended.
    const msgs = server?.sessions[0]?.messages ?? [];
    const completed = msgs.find((m) => m.type === 'playback_completed')?.at ?? 0;
    const stopped = server?.sessions[0]?.prompts[0]?.lastAt ?? 0;
    expect(completed - stopped).toBeLessThan(400);
    expect(res.events.some((e) => e.type === 'barge_in')).toBe(true);
  });
});

describe('voicebot frame checks', () => {
  const hangSoon = [{ after: 'prompt', hangup: true, timeout: 3 }];

  it('flags a frame that is not 1600 bytes', async () => {
    const res = await call({ misbehave: 'small-frame', turns: 0 }, hangSoon);
    expect(res.ok).toBe(true);
    expect(res.clean).toBe(false);
    expect(res.findings.badSize).toEqual({ count: 1, sizes: [1000] });
  });

  it('flags a container header at the start of a prompt', async () => {
    const res = await call({ misbehave: 'riff', turns: 0 }, hangSoon);
    expect(res.findings.headers).toEqual(['prompt 1: RIFF/WAV']);
    expect(res.events.some((e) => e.who === 'check' && e.text.includes('RIFF/WAV'))).toBe(true);
  });

  it('flags 40 frames at once: over the rate (burst 25) and far ahead of real time', async () => {
    const res = await call({ misbehave: 'burst', greetingSeconds: 8, turns: 0 }, [{ after: 1, hangup: true }]);
    expect(res.frames).toBe(40);
    expect(res.findings.rateExceeded).toBe(15);
    expect(res.findings.lead.maxMs).toBeGreaterThan(7500);
  });

  it('flags audio running 3 s ahead, and --strict makes that exit 1', async () => {
    server = await startFakeAudioConnector({ misbehave: 'ahead', greetingSeconds: 4, turns: 0 });
    const dir = tempDir();
    const script = writeScript(dir, [{ after: 1.5, hangup: true }]);
    const lax = await cli(['--url', server.url, '--json', '--script', script]);
    const res = JSON.parse(lax.out.at(-1) as string) as VoiceBotCallResult;
    expect(lax.code).toBe(0);
    expect(res.findings.rateExceeded).toBe(0);
    expect(res.findings.lead.maxMs).toBeGreaterThan(2900);
    expect(res.findings.lead.over).toBeGreaterThan(0);
    const strict = await cli(['--url', server.url, '--strict', '--script', script]);
    expect(strict.code).toBe(1);
    expect(strict.err.join('\n')).toMatch(/frames more than 1000 ms ahead of real time \(max lead 3\d{3} ms\)/);
    expect(strict.out.some((l) => /^\s+\d+\.\d\ds {2}bot {7}▶ speaking \(prompt 1\)$/.test(l))).toBe(true);
  });

  it('--expect-no-audio: any binary frame is a finding', async () => {
    const res = await call({ turns: 0 }, [{ after: 'prompt', hangup: true }], { expectNoAudio: true });
    expect(res.findings.unexpectedAudio).toBe(5);
    expect(res.clean).toBe(false);
  });
});
