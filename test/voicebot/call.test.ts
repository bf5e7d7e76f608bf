/**
 * Voice-bot sessions through the real server and the CLI's Genesys-like caller over loopback:
 * a scripted bot, real flite prompts, the simulated engine for the caller's turns (it hears
 * speech as `[speech 1.4 s]`: the bot here answers turns, whatever was said).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotRequest } from '../../src/voicebot/bot/types.js';
import { call, callOptions, canSynthesize, sample, startScriptedBot, startVoiceBotServer, step } from './call-helpers.js';

describe.skipIf(!canSynthesize)('voice-bot call: greeting, question, answer, goodbye', () => {
  let bot: Awaited<ReturnType<typeof startScriptedBot>>;
  let server: Awaited<ReturnType<typeof startVoiceBotServer>>;
  beforeAll(async () => {
    bot = await startScriptedBot((req: BotRequest) => {
      if (req.event === 'start') return { say: ['Hello. How can I help?'] };
      if (req.event === 'utterance' && req.turn === 2) return { say: 'We are open from nine to five.' as unknown as string[] };
      return { say: ['Goodbye.'], end: true, outputVariables: { intent: 'goodbye', tier: req.inputVariables['customerTier'] ?? '' } };
    });
    server = await startVoiceBotServer({ BOTS: JSON.stringify({ sales: { url: bot.url } }) });
  });
  afterAll(async () => {
    await server.close();
    await bot.close();
  });

  it('plays the turns and ends with disconnect completed and the output variables', async () => {
    const result = await call(
      callOptions(server.url('sales'), [step({ trigger: { kind: 'prompt' }, play: sample('hours.wav') }), step({ trigger: { kind: 'prompt' }, play: sample('goodbye.wav') })]),
    );
    expect(result.failure).toBeUndefined();
    expect(result.protocolErrors).toEqual([]);
    expect(result.disconnect).toEqual({ reason: 'completed', outputVariables: { intent: 'goodbye', tier: 'gold' } });
    expect(result.closed).toBe(true);
    // The bot heard the call: who, where from, the Architect inputs, each turn in order.
    expect(bot.requests.map((r) => r.event)).toEqual(['start', 'utterance', 'utterance']);
    expect(bot.requests.map((r) => r.turn)).toEqual([1, 2, 3]);
    expect(bot.requests[0]).toMatchObject({ connectorId: 'sales', language: 'en-US', inputVariables: { customerTier: 'gold' }, caller: { ani: 'tel:+15551234567', dnis: 'tel:+15557654321' } });
    expect(bot.requests[1]!.text).toMatch(/speech/);
    // Three prompts of real audio, in 1,600-byte frames, paced: never more than the lead ahead.
    expect(result.prompts.length).toBe(3);
    expect(result.frames).toBeGreaterThan(10);
    expect(result.bytes).toBe(result.frames * 1600);
    expect(result.findings.badSize.count).toBe(0);
    expect(result.findings.headers).toEqual([]);
    expect(result.findings.rateExceeded).toBe(0);
    expect(result.findings.underruns).toBe(0);
    // Three frames ahead at most (plus the one in flight), on a drift-free clock.
    expect(result.findings.lead.maxMs).toBeLessThanOrEqual(800 + 100);
    // One bot_turn_response per caller turn, saying what the bot answered.
    expect(result.botTurnResponses).toMatchObject([
      { disposition: 'match', text: 'We are open from nine to five.', confidence: expect.any(Number) },
      { disposition: 'match', text: 'Goodbye.', confidence: expect.any(Number) },
    ]);
    // The last prompt was heard before the disconnect.
    expect(result.unplayedAtDisconnectSeconds ?? 0).toBeLessThanOrEqual(0.2);
    expect(result.turns.every((t) => t.latencyMs !== null && t.latencyMs < 3000)).toBe(true);
  }, 60_000);
});
