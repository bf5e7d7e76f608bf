/**
 * The turns of a voice-bot call through the real server and the Genesys-like caller: digits by
 * terminator and by timeout, no input, a bot that times out (fallback prompt) or is down
 * (`disconnect error`), an unknown connector id, and no bot audio on the transcription path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotRequest } from '../../src/voicebot/bot/types.js';
import { TestClient } from '../server/harness.js';
import { call, callOptions, canSynthesize, sample, startScriptedBot, startVoiceBotServer, step } from './call-helpers.js';

const NULL_UUID = '00000000-0000-0000-0000-000000000000';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!canSynthesize)('voice-bot turns', () => {
  let bot: Awaited<ReturnType<typeof startScriptedBot>>;
  let slowBot: Awaited<ReturnType<typeof startScriptedBot>>;
  let server: Awaited<ReturnType<typeof startVoiceBotServer>>;
  let behaviour: (req: BotRequest) => ReturnType<Parameters<typeof startScriptedBot>[0]>;
  beforeAll(async () => {
    bot = await startScriptedBot((req) => behaviour(req));
    slowBot = await startScriptedBot((req) => (req.event === 'start' ? { say: ['Hello.'] } : req.turn === 2 ? 'hang' : { say: ['Bye.'], end: true }));
    server = await startVoiceBotServer({
      BOTS: JSON.stringify({
        main: { url: bot.url },
        slow: { url: slowBot.url },
        down: { url: 'http://127.0.0.1:9/bot' },
        british: { url: bot.url, language: 'en-GB' },
        spanish: { url: bot.url, language: 'es-ES' },
      }),
      DTMF_INTER_DIGIT_MS: '800',
      BOT_NO_INPUT_SECONDS: '2.5',
      BOT_TIMEOUT_MS: '700',
      BOT_FALLBACK_PROMPT: 'Sorry, please say that again.',
    });
  });
  afterAll(async () => {
    await server.close();
    await bot.close();
    await slowBot.close();
  });

  it('collects digits up to the terminator, and up to a pause between keys', async () => {
    bot.requests.length = 0;
    behaviour = (req) => {
      if (req.event === 'start') return { say: ['Enter your number.'], collectDigits: { maxDigits: 8, terminator: '#' } };
      if (req.turn === 2) return { say: ['And your pin.'] };
      return { say: ['Thanks.'], end: true, outputVariables: { account: bot.requests[1]?.digits ?? '', pin: req.digits ?? '' } };
    };
    const result = await call(
      callOptions(server.url('main'), [step({ trigger: { kind: 'prompt' }, dtmf: '1234#' }), step({ trigger: { kind: 'prompt' }, dtmf: '56' })]),
    );
    expect(result.protocolErrors).toEqual([]);
    const dtmf = bot.requests.filter((r) => r.event === 'dtmf');
    expect(dtmf.map((r) => r.digits)).toEqual(['1234', '56']);
    expect(result.disconnect).toEqual({ reason: 'completed', outputVariables: { account: '1234', pin: '56' } });
    // Digits are no speech: the turn responses say they matched, with full confidence.
    expect(result.botTurnResponses.map((r) => r['disposition'])).toEqual(['match', 'match']);
  }, 60_000);

  it('tells the bot no_input after silence, and reports it', async () => {
    bot.requests.length = 0;
    behaviour = (req) => (req.event === 'start' ? { say: ['Hello?'] } : { say: ['Goodbye.'], end: true, outputVariables: { reason: req.event } });
    const started = Date.now();
    const result = await call(callOptions(server.url('main'), []));
    expect(result.disconnect).toEqual({ reason: 'completed', outputVariables: { reason: 'no_input' } });
    expect(bot.requests.map((r) => r.event)).toEqual(['start', 'no_input']);
    expect(result.botTurnResponses[0]).toMatchObject({ disposition: 'no_input', text: 'Goodbye.' });
    // Greeting (~0.7 s) + 2.5 s of silence + goodbye: the timer ran from the end of playback.
    expect(Date.now() - started).toBeGreaterThan(3000);
  }, 60_000);

  it('plays the fallback prompt when the bot does not answer in time, then carries on', async () => {
    slowBot.requests.length = 0;
    const result = await call(
      callOptions(server.url('slow'), [step({ trigger: { kind: 'prompt' }, play: sample('hours.wav') }), step({ trigger: { kind: 'prompt' }, play: sample('goodbye.wav') })]),
    );
    expect(result.protocolErrors).toEqual([]);
    expect(slowBot.requests.map((r) => r.event)).toEqual(['start', 'utterance', 'utterance']);
    // Hello, the fallback, Bye.
    expect(result.prompts.length).toBe(3);
    expect(result.disconnect?.reason).toBe('completed');
  }, 60_000);

  it('a bot that is down ends the call with disconnect error', async () => {
    const result = await call(callOptions(server.url('down'), []));
    expect(result.disconnect?.reason).toBe('error');
    expect(result.disconnect?.info).toMatch(/^bot unavailable: bot unreachable/);
    expect(result.frames).toBe(0);
    expect(result.closed).toBe(true);
  }, 30_000);

  it("takes the bot's language when open names none; refuses a language the synthesizer cannot speak", async () => {
    bot.requests.length = 0;
    behaviour = () => ({ say: ['Goodbye.'], end: true });
    const english = await call(callOptions(server.url('british'), [], { language: '' }));
    expect(english.disconnect?.reason).toBe('completed');
    expect(bot.requests[0]).toMatchObject({ language: 'en-GB' });
    const spanish = await call(callOptions(server.url('spanish'), [], { language: '' }));
    expect(spanish.disconnect).toEqual({ reason: 'error', info: "speech synthesis 'flite' does not speak es-ES" });
    expect(spanish.frames).toBe(0);
    expect(bot.requests.length).toBe(1); // the Spanish call never reached the bot
  }, 30_000);

  it('refuses an unknown connector id at open, naming it', async () => {
    const result = await call(callOptions(server.url('nobody'), []));
    expect(result.disconnect?.reason).toBe('error');
    expect(result.disconnect?.info).toMatch(/unknown connector id 'nobody'/);
    expect(result.closed).toBe(true);
  }, 30_000);

  it('answers the connection probe on a voice-bot path without calling the bot or synthesizing', async () => {
    bot.requests.length = 0;
    const c = await TestClient.connect(server.url('main'));
    let binary = 0;
    c.ws.on('message', (_d, isBinary) => {
      if (isBinary) binary += 1;
    });
    c.open({ conversationId: NULL_UUID, participant: { id: NULL_UUID, ani: '', aniName: '', dnis: '' }, supportedLanguages: true, media: [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }] });
    const opened = await c.waitType('opened');
    expect(opened.parameters['media']).toEqual([{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }]);
    await sleep(300);
    await c.close();
    expect(bot.requests).toEqual([]);
    expect(binary).toBe(0);
  }, 30_000);

  it('sends no binary audio on the transcription path', async () => {
    const result = await call(
      callOptions(server.transcriptionUrl, [step({ trigger: { kind: 'seconds', seconds: 0.3 }, play: sample('hours.wav') }), step({ trigger: { kind: 'seconds', seconds: 1 }, hangup: true })], {
        expectNoAudio: true,
      }),
    );
    expect(result.protocolErrors).toEqual([]);
    expect(result.findings.unexpectedAudio).toBe(0);
    expect(result.frames).toBe(0);
    expect(result.closed).toBe(true);
    await sleep(10);
  }, 30_000);

  // Last: the server refuses new sessions after it.
  it('at a server drain, tells the bot and ends the call with disconnect completed', async () => {
    bot.requests.length = 0;
    behaviour = (req) => (req.event === 'start' ? { say: ['Hello. Take your time.'] } : {});
    const running = call(callOptions(server.url('main'), [step({ trigger: { kind: 'seconds', seconds: 30 }, hangup: true })]));
    await sleep(2500);
    // Grace over at once: the live call is flushed and asked to end.
    await server.server.drain(0);
    const result = await running;
    expect(result.disconnect).toEqual({ reason: 'completed', info: 'server shutting down' });
    expect(result.closed).toBe(true);
    expect(bot.requests.map((r) => [r.event, r.reason])).toEqual([
      ['start', undefined],
      ['end', 'shutdown'],
    ]);
  }, 30_000);
});

describe.skipIf(!canSynthesize)('voice-bot hold', () => {
  let bot: Awaited<ReturnType<typeof startScriptedBot>>;
  let server: Awaited<ReturnType<typeof startVoiceBotServer>>;
  beforeAll(async () => {
    bot = await startScriptedBot((req) =>
      req.event === 'start'
        ? { say: ['Please hold the line while I look up your account. This will only take a moment.'] }
        : { say: ['Goodbye.'], end: true, outputVariables: { last: req.event } },
    );
    server = await startVoiceBotServer({ BOTS: JSON.stringify({ main: { url: bot.url } }), BOT_NO_INPUT_SECONDS: '1' });
  });
  afterAll(async () => {
    await server.close();
    await bot.close();
  });

  it('pause freezes the bot audio and the timers; resume continues the prompt where it stopped', async () => {
    const result = await call(callOptions(server.url('main'), [step({ trigger: { kind: 'prompt-start' }, delay: 1.5, hold: 3 })]));
    expect(result.protocolErrors).toEqual([]);
    const paused = result.events.find((e) => e.type === 'paused')!;
    const resumed = result.events.find((e) => e.type === 'resumed')!;
    expect(resumed.t - paused.t).toBeGreaterThanOrEqual(2.9);
    // Nothing was sent during the hold (beyond what was in flight), and the prompt went on after it.
    // The caller hears the prompt in two parts (before and after the hold), then the goodbye.
    expect(result.prompts.length).toBe(3);
    expect(result.prompts[0]!.seconds + result.prompts[1]!.seconds).toBeGreaterThan(4);
    expect(result.prompts[1]!.start).toBeGreaterThanOrEqual(resumed.t);
    const sentDuringHold = result.frameArrivals.filter((t) => t > paused.t + 0.05 && t < resumed.t).length;
    expect(sentDuringHold).toBe(0);
    expect(result.frameArrivals.some((t) => t > resumed.t)).toBe(true);
    // The no-input timer (1 s) did not run during the hold: the bot heard no_input only after the prompt.
    const noInput = bot.requests.find((r) => r.event === 'no_input');
    expect(noInput).toBeDefined();
    expect(result.disconnect).toEqual({ reason: 'completed', outputVariables: { last: 'no_input' } });
  }, 60_000);
});
