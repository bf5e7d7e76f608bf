/** The Rasa preset against a fake Rasa REST channel (POST /webhooks/rest/webhook, array replies). */
import { afterEach, describe, expect, it } from 'vitest';
import { createBotClient } from '../../../src/voicebot/bot/webhook.js';
import { BotError } from '../../../src/voicebot/bot/types.js';
import { botRequest, json, never, startServer, type TestServer } from './servers.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/**
 * Answers like Rasa's RestInput: a JSON array of the bot's messages, each with `recipient_id`
 * (the sender) and `text`, `image`, `buttons` or `custom` (absent keys left out, as Rasa does).
 */
async function startFakeRasa(): Promise<TestServer> {
  return startServer((req, res) => {
    if (req.url !== '/webhooks/rest/webhook' || req.method !== 'POST') return json(res, 404, { status: 'not found' });
    const { sender, message } = JSON.parse(req.body) as { sender: string; message: string };
    const to = (m: Record<string, unknown>): Record<string, unknown> => ({ recipient_id: sender, ...m });
    switch (message) {
      case '/start':
        return json(res, 200, [to({ text: 'Hi, this is Rasa.' }), to({ text: 'How can I help?', buttons: [{ title: 'Hours', payload: '/hours' }] })]);
      case 'opening hours':
        return json(res, 200, [to({ image: 'https://example.com/map.png' }), to({ text: 'Nine to five.' }), to({ custom: { bargeIn: false, outputVariables: { topic: 'hours' } } })]);
      case '1234':
        return json(res, 200, [to({ text: 'Thanks.' }), to({ custom: { collectDigits: { maxDigits: 4 } } }), to({ custom: 'for another channel' }), to({ custom: { blocks: [] } })]);
      case 'goodbye':
        return json(res, 200, [to({ text: 'Goodbye.' }), to({ custom: { end: true, outputVariables: { intent: 'goodbye', turns: 3 } } }), to({ custom: { outputVariables: { turns: 4, vip: true } } })]);
      case 'bad custom':
        return json(res, 200, [to({ text: 'x' }), to({ custom: { end: 'sk-secret-value' } })]);
      case 'not an array':
        return json(res, 200, { status: 'ok' });
      default:
        // Rasa answers [] when no response was predicted.
        return json(res, 200, []);
    }
  });
}

describe('Rasa REST channel preset', () => {
  it('maps each event to a message and sends the rest as metadata', async () => {
    server = await startFakeRasa();
    const client = createBotClient({ url: `${server.url}/webhooks/rest/webhook`, format: 'rasa' }, { timeoutMs: 2000 });
    const base = botRequest({ inputVariables: { queue: 'sales' } });
    const turns = [
      { ...base, event: 'start' as const, turn: 1 },
      { ...base, event: 'utterance' as const, turn: 2, text: 'opening hours', confidence: 0.9, bargeIn: { heardMs: 500, promptMs: 2000, heardText: 'Hi' } },
      { ...base, event: 'utterance' as const, turn: 3, text: '' },
      { ...base, event: 'dtmf' as const, turn: 4, digits: '1234' },
      { ...base, event: 'no_input' as const, turn: 5 },
      { ...base, event: 'end' as const, turn: 6, reason: 'hangup' },
    ];
    for (const t of turns) await client.ask(t, never);
    const bodies = server.received.map((r) => JSON.parse(r.body) as { sender: string; message: string; metadata: Record<string, unknown> });
    expect(bodies.map((b) => b.message)).toEqual(['/start', 'opening hours', '/nlu_fallback', '1234', '/no_input', '/end']);
    expect(new Set(bodies.map((b) => b.sender))).toEqual(new Set([base.sessionId]));
    expect(bodies[0]!.metadata).toEqual({
      connectorId: 'demo',
      conversationId: base.conversationId,
      language: 'en-US',
      turn: 1,
      event: 'start',
      inputVariables: { queue: 'sales' },
      caller: base.caller,
    });
    expect(bodies[1]!.metadata).toMatchObject({ event: 'utterance', turn: 2, confidence: 0.9, bargeIn: { heardMs: 500, promptMs: 2000, heardText: 'Hi' } });
    expect(bodies[3]!.metadata).toMatchObject({ event: 'dtmf', digits: '1234' });
    expect(bodies[5]!.metadata).toMatchObject({ event: 'end', reason: 'hangup' });
    expect(server.received[0]!.headers['content-type']).toBe('application/json');
  });

  it('says every text in order and reads controls from custom payloads', async () => {
    server = await startFakeRasa();
    const client = createBotClient({ url: `${server.url}/webhooks/rest/webhook`, format: 'rasa' }, { timeoutMs: 2000 });
    const ask = (event: 'start' | 'utterance' | 'dtmf', text?: string) =>
      client.ask(botRequest({ event, ...(event === 'dtmf' ? { digits: text } : { text }) }), never);

    expect(await ask('start')).toEqual({ say: ['Hi, this is Rasa.', 'How can I help?'], end: false, outputVariables: {}, bargeIn: true });
    expect(await ask('utterance', 'opening hours')).toEqual({ say: ['Nine to five.'], end: false, outputVariables: { topic: 'hours' }, bargeIn: false });
    // Customs meant for other channels (a string, unknown keys) are ignored.
    expect(await ask('dtmf', '1234')).toEqual({ say: ['Thanks.'], end: false, outputVariables: {}, collectDigits: { maxDigits: 4 }, bargeIn: true });
    expect(await ask('utterance', 'goodbye')).toEqual({ say: ['Goodbye.'], end: true, outputVariables: { intent: 'goodbye', turns: '4', vip: 'true' }, bargeIn: true });
    expect(await ask('utterance', 'something else')).toEqual({ say: [], end: false, outputVariables: {}, bargeIn: true });
  });

  it('rejects a reply that is not Rasa-shaped, or a custom with bad controls', async () => {
    server = await startFakeRasa();
    const client = createBotClient({ url: `${server.url}/webhooks/rest/webhook`, format: 'rasa' }, { timeoutMs: 2000 });
    const bad = await client.ask(botRequest({ event: 'utterance', text: 'bad custom' }), never).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(BotError);
    expect(bad).toMatchObject({ kind: 'bad-reply', message: 'bot reply invalid: [1].custom.end: expected true or false' });
    const notArray = await client.ask(botRequest({ event: 'utterance', text: 'not an array' }), never).catch((e: unknown) => e);
    expect(notArray).toMatchObject({ kind: 'bad-reply', message: 'bot reply invalid: expected a JSON array of messages' });
  });
});
