/** The voice-bot client's parts on their own: script parsing, the caller's mixer, the player tracker, the arguments. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeMulaw } from '../../src/audio/mulaw.js';
import { UsageError } from '../../src/cli/args.js';
import { createCaller } from '../../src/cli/voicebot/caller.js';
import { parseVoiceBotArgs, voicebot, withConnector } from '../../src/cli/voicebot/command.js';
import { containerOf, createFrameChecker } from '../../src/cli/voicebot/frame-check.js';
import { createPlayerTracker } from '../../src/cli/voicebot/player-tracker.js';
import { loadScript, scriptFromFiles, ScriptError } from '../../src/cli/voicebot/script.js';
import { tempDir, tonePcm, writeScript, writeToneWav } from './voicebot-helpers.js';

describe('voicebot script', () => {
  const errorOf = async (steps: unknown[] | string): Promise<string> => {
    const dir = tempDir();
    writeToneWav(dir, 'ok.wav', 0.2);
    const file = typeof steps === 'string' ? join(dir, 's.json') : writeScript(dir, steps);
    if (typeof steps === 'string') writeFileSync(file, steps);
    const e = await loadScript(file).then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(ScriptError);
    return (e as Error).message;
  };

  it('loads steps with their audio, paths relative to the script, PCM16 and µ-law alike', async () => {
    const dir = tempDir();
    writeToneWav(dir, 'a.wav', 0.5, 'L16');
    writeToneWav(dir, 'b.wav', 0.25, 'PCMU');
    const s = await loadScript(
      writeScript(dir, [
        { after: 'prompt', play: 'a.wav' },
        { after: 'prompt-start', delay: 1, play: './b.wav', dtmf: '12#' },
        { after: -0.5, hangup: true },
      ]),
    );
    expect(s.steps.map((x) => [x.trigger, x.delay, x.play?.name, x.play?.durationSeconds, x.dtmf, x.hangup])).toEqual([
      [{ kind: 'prompt' }, 0, 'a.wav', 0.5, undefined, false],
      [{ kind: 'prompt-start' }, 1, 'b.wav', 0.25, '12#', false],
      [{ kind: 'seconds', seconds: -0.5 }, 0, undefined, undefined, undefined, true],
    ]);
    // µ-law decoded as PCM: the same tone within µ-law's error.
    const b = s.steps[1]?.play?.pcm as Int16Array;
    expect(Math.abs((b[2] as number) - (tonePcm(0.25)[2] as number))).toBeLessThan(300);
  });

  it('says clearly what is wrong', async () => {
    expect(await errorOf('{"steps": [')).toMatch(/^s\.json: not valid JSON/);
    expect(await errorOf('[]')).toMatch(/must be an object with a "steps" array/);
    expect(await errorOf([])).toMatch(/"steps" is empty/);
    expect(await errorOf([{ after: 'later', play: 'ok.wav' }])).toMatch(/step 1: "after" must be "prompt", "prompt-start" or a number of seconds, got "later"/);
    expect(await errorOf([{ after: 'prompt' }])).toMatch(/step 1: does nothing/);
    expect(await errorOf([{ after: 1, dtmf: '12x' }])).toMatch(/step 1: "dtmf" must be digits/);
    expect(await errorOf([{ after: 1, play: 'ok.wav', volume: 2 }])).toMatch(/step 1: unknown field volume/);
    expect(await errorOf([{ after: 1, hangup: true }, { after: 1, play: 'ok.wav' }])).toMatch(/step 1: "hangup" must be on the last step/);
    expect(await errorOf([{ after: 1, delay: -1, play: 'ok.wav' }])).toMatch(/"delay" must be a non-negative number/);
    expect(await errorOf([{ after: 1, play: 'missing.wav' }])).toMatch(/step 1: cannot read .*missing\.wav: ENOENT/);
  });

  it('refuses audio that is not 8 kHz mono, naming the fix', async () => {
    const dir = tempDir();
    const wide = writeToneWav(dir, 'wide.wav', 0.2, 'L16', 16000);
    await expect(scriptFromFiles([wide])).rejects.toThrow(/wide\.wav: 16000 Hz, the caller audio must be 8000 Hz; convert it with: sox/);
    writeFileSync(join(dir, 'junk.wav'), 'not a wav');
    await expect(scriptFromFiles([join(dir, 'junk.wav')])).rejects.toThrow(/junk\.wav: not a RIFF\/WAVE file/);
  });

  it('positional files: one turn each after a prompt, then hang up after the last answer', async () => {
    const dir = tempDir();
    const s = await scriptFromFiles([writeToneWav(dir, 'a.wav', 0.2), writeToneWav(dir, 'b.wav', 0.2)]);
    expect(s.steps.map((x) => [x.trigger.kind, x.play?.name, x.hangup])).toEqual([
      ['prompt', 'a.wav', false],
      ['prompt', 'b.wav', false],
      ['prompt', undefined, true],
    ]);
  });
});

describe('caller audio', () => {
  it('sends µ-law silence (0xFF) on the 200 ms grid, mixes what plays from the next frame, and catches up', () => {
    const frames: Buffer[] = [];
    const caller = createCaller({ sendFrame: (f) => frames.push(f), send: () => undefined });
    caller.start(1000);
    caller.tick(1199);
    expect(frames).toHaveLength(0); // a frame leaves once its 200 ms are captured
    caller.tick(1200);
    expect(frames).toHaveLength(1);
    expect(frames[0]?.every((b) => b === 0xff)).toBe(true);
    // Frame 1 is being captured: the tone starts with frame 2.
    const { startMs, endMs } = caller.play(tonePcm(0.3));
    expect([startMs, endMs]).toEqual([1400, 1700]);
    caller.tick(2050); // late: frames 1–4 at once
    expect(frames.map((f) => f.length)).toEqual([1600, 1600, 1600, 1600, 1600]);
    expect(frames[1]?.every((b) => b === 0xff)).toBe(true);
    const pcm = decodeMulaw(frames[3] as Buffer);
    expect(pcm.subarray(0, 800).some((v) => Math.abs(v) > 1000)).toBe(true); // the tone's last 100 ms
    expect(pcm.subarray(800).every((v) => v === 0)).toBe(true); // then silence
    expect(frames[4]?.every((b) => b === 0xff)).toBe(true);
    expect(caller.position()).toBeCloseTo(1.0, 9);
  });

  it('overlapping plays add up; a server pause stops the frames and resumed declares the gap', () => {
    const frames: Buffer[] = [];
    const sent: string[] = [];
    const caller = createCaller({ sendFrame: (f) => frames.push(f), send: (t, p) => sent.push(`${t} ${JSON.stringify(p)}`) });
    caller.start(0);
    const quiet = new Int16Array(1600).fill(1000);
    caller.play(quiet);
    caller.play(quiet);
    caller.tick(400);
    expect(decodeMulaw(frames[1] as Buffer)[0]).toBeGreaterThan(1900);
    caller.serverPause();
    caller.tick(800);
    caller.serverResume();
    caller.tick(1000);
    expect(frames).toHaveLength(3);
    expect(sent).toEqual(['paused {}', 'resumed {"start":"PT0.4S","discarded":"PT0.4S"}']);
  });
});

describe('player tracker', () => {
  const frame = Buffer.alloc(1600, 0x10);
  function tracker(playbackEvents = true) {
    const log: string[] = [];
    const t = createPlayerTracker({
      t0: 0,
      playbackEvents,
      send: (type) => log.push(`send ${type}`),
      checker: createFrameChecker({ maxLeadMs: 1000, expectNoAudio: false, now: 0 }),
      onPromptStart: (p) => log.push(`start ${p.index}`),
      onPromptEnd: (p) => log.push(`end ${p.index} ${p.playEnd}`),
      onPlayback: () => undefined,
      onFinding: (text) => log.push(`finding ${text}`),
    });
    return { t, log };
  }

  it('plays each frame from its arrival: completed when all has played out, prompts split by 600 ms of silence', () => {
    const { t, log } = tracker();
    t.frame(frame, 1000);
    t.frame(frame, 1000); // queued: plays 1200–1400
    t.frame(frame, 1300); // plays 1400–1600
    t.tick(1599);
    expect(log).toEqual(['start 1', 'send playback_started']);
    t.tick(1600 + 60);
    expect(log.slice(2)).toEqual(['send playback_completed']);
    t.frame(frame, 1900); // after 300 ms: the same prompt, a new playback
    t.tick(2100 + 600);
    expect(log.slice(3)).toEqual(['send playback_started', 'send playback_completed', 'end 1 2100']);
    t.frame(frame, 3000);
    expect(log.slice(6)).toEqual(['start 2', 'send playback_started']);
    expect(t.stats.underruns).toBe(1);
    expect(t.unplayedMs(3100)).toBe(100);
  });

  it('records at play-out positions on the timeline, and a barge-in flush drops the unplayed tail', () => {
    const { t } = tracker(false);
    t.frame(frame, 500); // 0.5 s on the timeline
    t.frame(frame, 500); // 0.7 s
    t.frame(frame, 500); // 0.9 s
    expect(t.flush(800)).toBe(300);
    const rec = t.recording();
    expect(rec.length).toBe(0.8 * 8000);
    expect(rec.subarray(0, 4000).every((b) => b === 0xff)).toBe(true);
    expect(rec.subarray(4000).every((b) => b === 0x10)).toBe(true);
    expect(t.prompts[0]?.flushedMs).toBe(300);
  });

  it('reports a container header and a wrong size once per prompt', () => {
    const { t, log } = tracker(false);
    t.frame(Buffer.from('RIFF....WAVEfmt '), 0);
    t.frame(Buffer.alloc(10), 0);
    expect(log.filter((l) => l.startsWith('finding'))).toEqual([
      'finding frame of 16 bytes (expected 1600: 200 ms of mono PCMU)',
      'finding prompt starts with a RIFF/WAV header: send raw µ-law, not a file',
    ]);
    expect(containerOf(Buffer.from('ID3\x04'))).toBe('MP3 (ID3)');
    expect(containerOf(Buffer.from([0xff, 0xfe, 0x7f]))).toBeUndefined();
  });
});

describe('voicebot arguments', () => {
  it('defaults, --connector, --var', () => {
    const a = parseVoiceBotArgs(['--connector', 'sales', '--var', 'a=1', '--var', 'b=x=y', 'x.wav'], {});
    expect(a?.url).toBe('ws://127.0.0.1:8080/audioconnector/sales');
    expect(a?.inputVariables).toEqual({ a: '1', b: 'x=y' });
    expect([a?.maxSeconds, a?.maxLeadMs, a?.playbackEvents, a?.language, a?.strict]).toEqual([120, 1000, true, 'en-US', false]);
    expect(parseVoiceBotArgs(['--no-playback-events', '--script', 's.json'], {})?.playbackEvents).toBe(false);
    expect(withConnector('wss://h.example/a/b/?q=1', 'c')).toBe('wss://h.example/a/b/c?q=1');
  });

  it('rejects bad usage', async () => {
    for (const argv of [[], ['--script', 's.json', 'x.wav'], ['--var', 'novalue', 'x.wav'], ['--max-seconds', '0', 'x.wav'], ['--url', 'http://x', 'x.wav']]) {
      expect(() => parseVoiceBotArgs(argv, {}), argv.join(' ')).toThrow(UsageError);
    }
    const err: string[] = [];
    const code = await voicebot(['--script', '/nonexistent/s.json'], { out: () => undefined, err: (l) => err.push(l), env: {} });
    expect(code).toBe(2);
    expect(err[0]).toMatch(/^error: cannot read script \/nonexistent\/s\.json: ENOENT/);
  });

  it('the committed demo script loads, with small 8 kHz files under 3 s', async () => {
    const s = await loadScript(new URL('../../samples/voicebot/demo.json', import.meta.url).pathname);
    expect(s.steps.map((x) => x.play?.name)).toEqual(['hours.wav', 'address.wav', 'goodbye.wav']);
    for (const step of s.steps) expect(step.play?.durationSeconds).toBeLessThan(3);
  });
});
