/**
 * Barge-in through the real server and the Genesys-like caller: speech over a prompt stops the
 * bot's audio within the lead plus a frame and sends exactly one `barge_in`; a click does
 * nothing; a key commits at once; the bot is told how much of the prompt the caller heard.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulatedEngine } from '../../src/engines/simulated/index.js';
import type { BotRequest } from '../../src/voicebot/bot/types.js';
import type { VoiceBotCallResult } from '../../src/cli/voicebot/report.js';
import { call, callOptions, canSynthesize, click, sample, startScriptedBot, startVoiceBotServer, step } from './call-helpers.js';

const LONG_PROMPT =
  'Thank you for calling the demo line. Our opening hours are from nine in the morning until five in the afternoon, Monday to Friday. You can also visit our office in the city centre.';

/** Arrival of the last bot frame before `t` (seconds since open), and when it finished playing. */
function botAudioAround(result: VoiceBotCallResult, prompt = 1) {
  const p = result.prompts.find((x) => x.index === prompt)!;
  return p;
}

describe.skipIf(!canSynthesize)('barge-in', () => {
  let bot: Awaited<ReturnType<typeof startScriptedBot>>;
  let server: Awaited<ReturnType<typeof startVoiceBotServer>>;
  beforeAll(async () => {
    bot = await startScriptedBot((req: BotRequest) => {
      if (req.event === 'start') return { say: [LONG_PROMPT] };
      // A bot that thinks a while: the cut prompt and the answer stay apart for the caller.
      return sleep(1500).then(() => ({ say: ['Okay.'], end: true, outputVariables: { heard: String(req.bargeIn?.heardMs ?? -1) } }));
    });
    // A click is not a word to the engine either (it needs 300 ms of sound to start one).
    server = await startVoiceBotServer(
      { BOTS: JSON.stringify({ demo: { url: bot.url } }), DTMF_INTER_DIGIT_MS: '500' },
      createSimulatedEngine({ endSilenceMs: 300, minSpeechMs: 300 }),
    );
  });
  afterAll(async () => {
    await server.close();
    await bot.close();
  });

  it('caller speech mid-prompt stops the audio within the lead plus one frame, with one barge_in', async () => {
    bot.requests.length = 0;
    const speech = sample('hours.wav');
    const result = await call(callOptions(server.url('demo'), [step({ trigger: { kind: 'prompt-start' }, delay: 2, play: speech })]));
    expect(result.failure).toBeUndefined();
    expect(result.protocolErrors).toEqual([]);
    expect(result.bargeIns).toBe(1);
    const played = result.events.find((e) => e.who === 'caller' && e.type === 'play')!;
    const prompt = botAudioAround(result);
    // The prompt is ~10 s: it was cut. Its audio ended (as the caller hears it) at most the
    // barge-in's first stage (200 ms of speech, plus the VAD's 20 ms frames and the speech's
    // own onset in the file), the lead (3 frames) and one frame after the caller began.
    expect(prompt.seconds).toBeLessThan(6);
    const onset = leadingSilenceSeconds(speech.pcm);
    expect(prompt.end - (played.t + onset)).toBeLessThanOrEqual(0.2 + 0.1 + 0.6 + 0.2);
    // The bot is told what the caller heard of the prompt.
    const turn = bot.requests.find((r) => r.event === 'utterance')!;
    expect(turn.bargeIn).toBeDefined();
    expect(turn.bargeIn!.heardMs).toBeGreaterThan(1500);
    expect(turn.bargeIn!.heardMs).toBeLessThan(turn.bargeIn!.promptMs);
    expect(turn.bargeIn!.heardText.length).toBeGreaterThan(0);
    expect(LONG_PROMPT.startsWith(turn.bargeIn!.heardText)).toBe(true);
    expect(result.disconnect?.reason).toBe('completed');
  }, 60_000);

  it('a 150 ms click over the prompt does nothing', async () => {
    bot.requests.length = 0;
    const result = await call(
      callOptions(server.url('demo'), [
        step({ trigger: { kind: 'prompt-start' }, delay: 2, play: click(150) }),
        step({ trigger: { kind: 'prompt' }, hangup: true }),
      ]),
    );
    expect(result.protocolErrors).toEqual([]);
    expect(result.bargeIns).toBe(0);
    // The whole prompt played, in one piece.
    expect(result.prompts.length).toBe(1);
    expect(result.prompts[0]!.seconds).toBeGreaterThan(8);
    expect(bot.requests.map((r) => r.event)).toEqual(['start', 'end']);
    expect(bot.requests[1]!.reason).toBe('hangup');
  }, 60_000);

  it('a key mid-prompt barges in at once and becomes the next turn', async () => {
    bot.requests.length = 0;
    const result = await call(callOptions(server.url('demo'), [step({ trigger: { kind: 'prompt-start' }, delay: 2, dtmf: '1' })]));
    expect(result.protocolErrors).toEqual([]);
    expect(result.bargeIns).toBe(1);
    const sent = result.events.find((e) => e.who === 'caller' && e.type === 'dtmf')!;
    const barge = result.events.find((e) => e.type === 'barge_in')!;
    expect(barge.t - sent.t).toBeLessThan(0.3);
    expect(result.prompts[0]!.end - sent.t).toBeLessThanOrEqual(0.6 + 0.2 + 0.1);
    const turn = bot.requests.find((r) => r.event === 'dtmf')!;
    expect(turn.digits).toBe('1');
    expect(turn.bargeIn!.heardMs).toBeGreaterThan(1500);
  }, 60_000);

  it('counts barge-ins and bot turn latency in /stats and /metrics', async () => {
    const base = `http://127.0.0.1:${server.server.port}`;
    const stats = (await (await fetch(`${base}/stats`)).json()) as { voiceBot: { bargeIns: number; turns: number; turnLatencyMs: { total: { count: number; p50: number } } } };
    expect(stats.voiceBot.bargeIns).toBe(2);
    expect(stats.voiceBot.turns).toBeGreaterThanOrEqual(5);
    // The two barge-in turns: from the caller's last sound to the bot's answer (it thinks 1.5 s).
    expect(stats.voiceBot.turnLatencyMs.total.count).toBe(2);
    expect(stats.voiceBot.turnLatencyMs.total.p50).toBeGreaterThan(1500);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/audiohook_voicebot_barge_ins_total\{outcome="committed"\} 2/);
    expect(metrics).toMatch(/audiohook_voicebot_turn_latency_seconds_count\{part="bot"\} 2/);
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!canSynthesize)('barge-in not confirmed', () => {
  let bot: Awaited<ReturnType<typeof startScriptedBot>>;
  let server: Awaited<ReturnType<typeof startVoiceBotServer>>;
  beforeAll(async () => {
    bot = await startScriptedBot((req: BotRequest) => (req.event === 'start' ? { say: [LONG_PROMPT] } : { say: ['Okay.'], end: true }));
    // The engine hears no word in a short burst (it needs 600 ms of sound), as a real one would not in a cough.
    server = await startVoiceBotServer({ BOTS: JSON.stringify({ demo: { url: bot.url } }) }, createSimulatedEngine({ endSilenceMs: 300, minSpeechMs: 600 }));
  });
  afterAll(async () => {
    await server.close();
    await bot.close();
  });

  it('a short burst the VAD takes for voice stops the prompt, which resumes when nothing confirms it', async () => {
    bot.requests.length = 0;
    // 400 ms the VAD takes for voice: past the first stage (200 ms), short of the second (500 ms).
    const burst = click(400);
    const result = await call(
      callOptions(server.url('demo'), [
        step({ trigger: { kind: 'prompt-start' }, delay: 2, play: burst }),
        // (the pause in the prompt would pass for its end: wait out the whole prompt instead)
        step({ trigger: { kind: 'seconds', seconds: 12 }, hangup: true }),
      ]),
    );
    expect(result.protocolErrors).toEqual([]);
    expect(result.bargeIns).toBe(0);
    // The caller heard a gap (the audio stopped, then came back about 2 s later), then the rest:
    // the whole prompt was played, nothing dropped.
    const seconds = result.prompts.reduce((sum, p) => sum + p.seconds, 0);
    expect(result.prompts.length).toBe(2);
    expect(seconds).toBeGreaterThan(9);
    const gap = result.prompts[1]!.start - result.prompts[0]!.end;
    expect(gap).toBeGreaterThan(1);
    expect(gap).toBeLessThan(2.5);
    expect(bot.requests.map((r) => r.event)).toEqual(['start', 'end']);
    const stats = (await (await fetch(`http://127.0.0.1:${server.server.port}/stats`)).json()) as { voiceBot: { bargeIns: number; falseAlarms: number } };
    expect(stats.voiceBot).toMatchObject({ bargeIns: 0, falseAlarms: 1 });
  }, 60_000);

});

/** Seconds before the first sample above −30 dBFS (flite's own lead-in). */
function leadingSilenceSeconds(pcm: Int16Array): number {
  const i = pcm.findIndex((v) => Math.abs(v) > 1000);
  return i < 0 ? 0 : i / 8000;
}
