/** The offline demo FAQ bot: as a pure function, and over HTTP through the real bot client. */
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createDemoBot, DEMO_PROMPTS, demoBotReply, handleDemoBotHttp, spellDigits, startDemoBot, type RunningDemoBot } from '../../../src/voicebot/bot/demo.js';
import { createBotClient } from '../../../src/voicebot/bot/webhook.js';
import type { BotClient, BotReply, BotRequest } from '../../../src/voicebot/bot/types.js';
import { botRequest, never } from './servers.js';

let running: RunningDemoBot | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

/** One call: numbers the turns as the session would and sends them through `ask`. */
function call<R>(ask: (r: BotRequest) => R, sessionId = `s-${Math.random()}`): (over: Partial<BotRequest>) => R {
  let turn = 0;
  return (over) => ask(botRequest({ sessionId, turn: ++turn, ...over }));
}

const more = DEMO_PROMPTS.more;

/** The FAQ conversation, the same whichever way the bot is reached. */
async function faqConversation(ask: (r: BotRequest) => Promise<BotReply> | BotReply): Promise<void> {
  const turn = call(ask);
  expect(await turn({ event: 'start' })).toEqual({ say: [DEMO_PROMPTS.greeting], end: false, outputVariables: {}, bargeIn: true });
  expect(await turn({ event: 'utterance', text: 'What are your opening hours' })).toEqual({ say: [DEMO_PROMPTS.hours, more], end: false, outputVariables: {}, bargeIn: true });
  expect((await turn({ event: 'utterance', text: 'and where are you located' })).say).toEqual([DEMO_PROMPTS.address, more]);
  expect(await turn({ event: 'utterance', text: 'okay thanks that is all goodbye' })).toEqual({
    say: [DEMO_PROMPTS.goodbye],
    end: true,
    outputVariables: { intent: 'goodbye', turns: '3', lastTopic: 'address' },
    bargeIn: false,
  });
}

describe('demo bot (pure function)', () => {
  it('greets, answers hours and address, and ends on goodbye with output variables', async () => {
    const bot = createDemoBot();
    await faqConversation((r) => bot.reply(r));
  });

  it('keeps state per session', async () => {
    const bot = createDemoBot();
    await faqConversation((r) => bot.reply(r));
    expect(bot.sessions).toBe(0); // forgotten at goodbye
    await faqConversation(demoBotReply);
  });

  it('matches loosely (recognizer errors) and says sorry to the rest', () => {
    const bot = createDemoBot();
    const say = (text: string) => bot.reply({ sessionId: 'x', event: 'utterance', text }).say;
    expect(say('ours')).toEqual([DEMO_PROMPTS.hours, more]);
    expect(say('when do you open')).toEqual([DEMO_PROMPTS.hours, more]);
    expect(say('what is the a dress')).toEqual([DEMO_PROMPTS.address, more]);
    expect(say('where are you and when are you open')).toEqual([DEMO_PROMPTS.hours, DEMO_PROMPTS.address, more]);
    expect(say('thanks what time do you close')).toEqual([DEMO_PROMPTS.hours, more]);
    expect(say('help')).toEqual([DEMO_PROMPTS.help]);
    expect(say('the weather in paris')).toEqual([DEMO_PROMPTS.unmatched]);
    expect(say('')).toEqual([DEMO_PROMPTS.unmatched]);
    expect(say('shoppers')).toEqual([DEMO_PROMPTS.unmatched]); // "hours" only as a word
    expect(bot.reply({ sessionId: 'x', event: 'utterance', text: 'bye' }).end).toBe(true);
  });

  it('answers keys 1 and 2, collects digits after 0 and reads them back', () => {
    const bot = createDemoBot();
    const turn = call((r) => bot.reply(r));
    turn({ event: 'start' });
    expect(turn({ event: 'dtmf', digits: '1' }).say).toEqual([DEMO_PROMPTS.hours, more]);
    expect(turn({ event: 'dtmf', digits: '2' }).say).toEqual([DEMO_PROMPTS.address, more]);
    expect(turn({ event: 'dtmf', digits: '7' }).say).toEqual([DEMO_PROMPTS.badKey]);
    expect(turn({ event: 'dtmf', digits: '0' })).toEqual({ say: [DEMO_PROMPTS.account], end: false, outputVariables: {}, collectDigits: { maxDigits: 8, terminator: '#' }, bargeIn: true });
    expect(turn({ event: 'dtmf', digits: '12345678' }).say).toEqual(['You entered one two three four five six seven eight. Thank you.', more]);
    // Back to the menu: 1 is hours again, not an account number.
    expect(turn({ event: 'dtmf', digits: '1' }).say).toEqual([DEMO_PROMPTS.hours, more]);
    expect(turn({ event: 'dtmf', digits: '0' }).collectDigits).toBeDefined();
    expect(turn({ event: 'dtmf', digits: '' }).say).toEqual([DEMO_PROMPTS.noDigits, more]);
    expect(spellDigits('0*#9')).toBe('zero star hash nine');
  });

  it('asks whether the caller is there, then ends after two silences in a row', () => {
    const bot = createDemoBot();
    const turn = call((r) => bot.reply(r));
    turn({ event: 'start' });
    expect(turn({ event: 'no_input' }).say).toEqual([DEMO_PROMPTS.stillThere]);
    turn({ event: 'utterance', text: 'hours' }); // speech in between resets the count
    expect(turn({ event: 'no_input' })).toMatchObject({ say: [DEMO_PROMPTS.stillThere], end: false });
    expect(turn({ event: 'no_input' })).toEqual({ say: [DEMO_PROMPTS.noInputBye], end: true, outputVariables: { intent: 'no_input', turns: '4', lastTopic: 'hours' }, bargeIn: false });
    expect(bot.sessions).toBe(0);
  });

  it('acknowledges a barge-in briefly', () => {
    const bot = createDemoBot();
    const reply = bot.reply({ sessionId: 'b', event: 'utterance', text: 'address', bargeIn: { heardMs: 800, promptMs: 5000, heardText: 'Welcome' } });
    expect(reply.say).toEqual([DEMO_PROMPTS.ack, DEMO_PROMPTS.address, more]);
  });

  it('forgets a session at end and keeps at most maxSessions', () => {
    const bot = createDemoBot({ maxSessions: 3 });
    for (const id of ['a', 'b', 'c', 'd']) bot.reply({ sessionId: id, event: 'start' });
    expect(bot.sessions).toBe(3);
    expect(bot.reply({ sessionId: 'c', event: 'end' })).toMatchObject({ say: [], end: true });
    expect(bot.sessions).toBe(2);
  });

  it('uses only plain words: no symbols, and digits only as key names', () => {
    for (const prompt of Object.values(DEMO_PROMPTS)) {
      expect(prompt).toMatch(/^[A-Za-z0-9 ,.?']+$/);
      expect(prompt.replace(/\b(press|or) [0-9] for\b/gi, '')).not.toMatch(/[0-9]/);
    }
  });
});

describe('demo bot over HTTP', () => {
  it('holds the conversation through createBotClient (webhook format)', async () => {
    running = await startDemoBot({ port: 0, host: '127.0.0.1' });
    const client: BotClient = createBotClient({ url: running.url, format: 'webhook' }, { timeoutMs: 2000 });
    await faqConversation((r) => client.ask(r, never));
    const turn = call((r) => client.ask(r, never));
    await turn({ event: 'start' });
    expect(await turn({ event: 'dtmf', digits: '0' })).toMatchObject({ collectDigits: { maxDigits: 8, terminator: '#' } });
    expect((await turn({ event: 'dtmf', digits: '42' })).say[0]).toBe('You entered four two. Thank you.');
    await turn({ event: 'no_input' });
    expect(await turn({ event: 'no_input' })).toMatchObject({ end: true, outputVariables: { intent: 'no_input' } });
  });

  it('checks the signature when given a secret', async () => {
    running = await startDemoBot({ secret: 'demo-secret' });
    const good = createBotClient({ url: running.url, format: 'webhook', secret: 'demo-secret' }, { timeoutMs: 2000 });
    expect((await good.ask(botRequest(), never)).say).toEqual([DEMO_PROMPTS.greeting]);
    const unsigned = createBotClient({ url: running.url, format: 'webhook' }, { timeoutMs: 2000 });
    await expect(unsigned.ask(botRequest(), never)).rejects.toMatchObject({ kind: 'http', message: 'bot answered HTTP 401' });
  });

  it('answers 405 to other methods, 400 to bad JSON or a bad request, 413 to a huge one', async () => {
    running = await startDemoBot();
    const send = (method: string, body?: string) =>
      new Promise<{ status: number; body: string; allow: string | undefined }>((resolve, reject) => {
        const req = httpRequest(running!.url, { method, headers: { 'content-type': 'application/json' } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, allow: res.headers.allow }));
        });
        req.on('error', reject);
        req.end(body);
      });
    expect(await send('GET')).toMatchObject({ status: 405, allow: 'POST' });
    expect(await send('POST', '{not json')).toMatchObject({ status: 400, body: '{"error":"invalid JSON"}' });
    expect(await send('POST', '{"sessionId":"x","turn":1,"event":"dance"}')).toMatchObject({ status: 400, body: '{"error":"invalid request: event"}' });
    expect(await send('POST', JSON.stringify({ sessionId: 'x', turn: 1, event: 'utterance', text: 'a'.repeat(70_000) }))).toMatchObject({ status: 413 });
    const ok = await send('POST', JSON.stringify(botRequest({ sessionId: 'http-1' })));
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ say: [DEMO_PROMPTS.greeting], end: false, outputVariables: {}, bargeIn: true });
    expect(typeof handleDemoBotHttp).toBe('function');
  });
});
