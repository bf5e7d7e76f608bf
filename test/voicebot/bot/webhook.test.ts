/** The webhook bot client against real local HTTP servers: request, reply, signature, failures. */
import { afterEach, describe, expect, it } from 'vitest';
import { createBotClient, describeBotUrl, MAX_REPLY_BYTES, signBotRequest, verifyBotSignature } from '../../../src/voicebot/bot/webhook.js';
import { BotError, type BotEndpoint } from '../../../src/voicebot/bot/types.js';
import { botRequest, closedPort, json, never, startServer, waitFor, type TestServer } from './servers.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const endpoint = (url: string, over: Partial<BotEndpoint> = {}): BotEndpoint => ({ url, format: 'webhook', ...over });

async function failure(p: Promise<unknown>): Promise<BotError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(BotError);
  return err as BotError;
}

describe('webhook format', () => {
  it('POSTs the BotRequest as JSON, field for field, and normalizes the reply', async () => {
    server = await startServer((_req, res) => json(res, 200, { say: ['Hello.', '  ', 'How can I help?'], end: false, outputVariables: { a: 'x' }, extra: { ignored: true } }));
    const client = createBotClient(endpoint(`${server.url}/bot?tenant=1`), { timeoutMs: 2000, userAgent: 'audiohook-connector/test' });
    const request = botRequest({ event: 'utterance', turn: 2, text: 'what are your hours', confidence: 0.82, inputVariables: { queue: 'sales' }, bargeIn: { heardMs: 1200, promptMs: 3400, heardText: 'Welcome to' } });
    const reply = await client.ask(request, never);
    expect(reply).toEqual({ say: ['Hello.', 'How can I help?'], end: false, outputVariables: { a: 'x' }, bargeIn: true });
    const [got] = server.received;
    expect(got!.method).toBe('POST');
    expect(got!.url).toBe('/bot?tenant=1');
    expect(got!.headers['content-type']).toBe('application/json');
    expect(got!.headers['user-agent']).toBe('audiohook-connector/test');
    expect(got!.headers['x-bot-signature']).toBeUndefined();
    expect(JSON.parse(got!.body)).toEqual({
      sessionId: request.sessionId,
      conversationId: request.conversationId,
      connectorId: 'demo',
      language: 'en-US',
      turn: 2,
      event: 'utterance',
      inputVariables: { queue: 'sales' },
      caller: { ani: 'tel:+13175551234', aniName: 'John Doe', dnis: 'tel:+18005550199' },
      text: 'what are your hours',
      confidence: 0.82,
      bargeIn: { heardMs: 1200, promptMs: 3400, heardText: 'Welcome to' },
    });
  });

  it('sends URL credentials as HTTP Basic auth (fetch refuses them in the URL)', async () => {
    server = await startServer((_req, res) => json(res, 200, {}));
    await createBotClient(endpoint(`${server.url.replace('//', '//bot%40x:p%3Ass@')}/bot`), { timeoutMs: 2000 }).ask(botRequest(), never);
    expect(server.received[0]!.headers.authorization).toBe(`Basic ${Buffer.from('bot@x:p:ss').toString('base64')}`);
    expect(server.received[0]!.url).toBe('/bot');
  });

  it('accepts a string say, numbers and booleans as variables, collectDigits, bargeIn false', async () => {
    server = await startServer((_req, res) =>
      json(res, 200, { say: 'Goodbye.', end: true, outputVariables: { turns: 3, score: 0.5, vip: false, name: 'Ann' }, collectDigits: { maxDigits: 4, terminator: '#', interDigitTimeoutMs: 3000 }, bargeIn: false }),
    );
    const reply = await createBotClient(endpoint(server.url), { timeoutMs: 2000 }).ask(botRequest(), never);
    expect(reply).toEqual({
      say: ['Goodbye.'],
      end: true,
      outputVariables: { turns: '3', score: '0.5', vip: 'false', name: 'Ann' },
      collectDigits: { maxDigits: 4, terminator: '#', interDigitTimeoutMs: 3000 },
      bargeIn: false,
    });
  });

  it('reads an empty body, a 204, {} and nulls as "say nothing"', async () => {
    const bodies: Array<[number, string]> = [[200, ''], [204, ''], [200, '{}'], [200, '{"say":null,"end":null,"outputVariables":null,"collectDigits":null}'], [200, ' \n']];
    let i = 0;
    server = await startServer((_req, res) => {
      const [status, body] = bodies[i++]!;
      res.writeHead(status);
      res.end(body);
    });
    const client = createBotClient(endpoint(server.url), { timeoutMs: 2000 });
    for (let n = 0; n < bodies.length; n++) {
      expect(await client.ask(botRequest(), never)).toEqual({ say: [], end: false, outputVariables: {}, bargeIn: true });
    }
  });

  it('rejects bad replies as bad-reply, naming the field and never a value', async () => {
    const cases: Array<[string, string]> = [
      ['not json {"sk-secret-value"', 'bot reply is not valid JSON'],
      ['["sk-secret-value"]', 'bot reply invalid: expected a JSON object'],
      ['"sk-secret-value"', 'bot reply invalid: expected a JSON object'],
      ['{"say":42}', 'bot reply invalid: say: expected a string or an array of strings'],
      ['{"say":["ok",{"sk-secret-value":1}]}', 'bot reply invalid: say: expected a string or an array of strings'],
      ['{"end":"sk-secret-value"}', 'bot reply invalid: end: expected true or false'],
      ['{"outputVariables":{"sk-secret-value":{"a":1}}}', 'bot reply invalid: outputVariables: expected string, number or boolean values'],
      ['{"outputVariables":{"k":null}}', 'bot reply invalid: outputVariables: expected string, number or boolean values'],
      ['{"outputVariables":["sk-secret-value"]}', 'bot reply invalid: outputVariables: expected an object'],
      ['{"collectDigits":{"terminator":"x"}}', 'bot reply invalid: collectDigits.terminator: expected one of 0-9 * #'],
      ['{"collectDigits":{"maxDigits":0}}', 'bot reply invalid: collectDigits.maxDigits: expected 1 to 64'],
      ['{"bargeIn":"no"}', 'bot reply invalid: bargeIn: expected true or false'],
    ];
    let i = 0;
    server = await startServer((_req, res) => json(res, 200, cases[i++]![0]));
    const client = createBotClient(endpoint(server.url), { timeoutMs: 2000 });
    for (const [, message] of cases) {
      const err = await failure(client.ask(botRequest(), never));
      expect({ kind: err.kind, message: err.message }).toEqual({ kind: 'bad-reply', message });
      expect(err.message).not.toContain('sk-secret-value');
    }
  });

  it('refuses a reply over the size cap, declared or streamed', async () => {
    const big = `{"say":"${'a'.repeat(MAX_REPLY_BYTES)}"}`;
    let i = 0;
    server = await startServer((_req, res) => {
      if (i++ === 0) return json(res, 200, big);
      // Chunked, no content-length: the cap must hold while reading.
      res.writeHead(200, { 'content-type': 'application/json' });
      for (let off = 0; off < big.length; off += 16_384) res.write(big.slice(off, off + 16_384));
      res.end();
    });
    const client = createBotClient(endpoint(server.url), { timeoutMs: 2000 });
    for (let n = 0; n < 2; n++) {
      const err = await failure(client.ask(botRequest(), never));
      expect({ kind: err.kind, message: err.message }).toEqual({ kind: 'bad-reply', message: `bot reply larger than ${MAX_REPLY_BYTES} bytes` });
    }
  });

  it('maps non-2xx (redirects included, not followed) to http', async () => {
    const statuses = [500, 404, 302];
    let i = 0;
    server = await startServer((_req, res) => {
      const status = statuses[i++]!;
      res.writeHead(status, status === 302 ? { location: '/elsewhere' } : {});
      res.end('<html>sk-secret-value</html>');
    });
    const client = createBotClient(endpoint(`${server.url}/bot?token=sk-secret-value`, { secret: 's3cr3t' }), { timeoutMs: 2000 });
    for (const status of statuses) {
      const err = await failure(client.ask(botRequest(), never));
      expect({ kind: err.kind, message: err.message }).toEqual({ kind: 'http', message: `bot answered HTTP ${status}` });
    }
    expect(server.received.map((r) => r.url)).toEqual(['/bot?token=sk-secret-value', '/bot?token=sk-secret-value', '/bot?token=sk-secret-value']);
  });

  it('times out after timeoutMs without leaving the connection open', async () => {
    server = await startServer(() => undefined); // never answers
    const client = createBotClient(endpoint(server.url), { timeoutMs: 300 });
    const t0 = performance.now();
    const err = await failure(client.ask(botRequest(), never));
    const elapsed = performance.now() - t0;
    expect({ kind: err.kind, message: err.message }).toEqual({ kind: 'timeout', message: 'bot did not answer within 300 ms' });
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(1500);
    expect(await waitFor(() => server!.received[0]!.socketClosed, 1000)).toBe(true);
  });

  it('times out when the reply body stalls half way', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"say":');
    });
    const err = await failure(createBotClient(endpoint(server.url), { timeoutMs: 300 }).ask(botRequest(), never));
    expect(err.kind).toBe('timeout');
    expect(await waitFor(() => server!.received[0]!.socketClosed, 1000)).toBe(true);
  });

  it('reports the caller abort as aborted (before and during the request)', async () => {
    server = await startServer(() => undefined);
    const client = createBotClient(endpoint(server.url), { timeoutMs: 5000 });
    const ac = new AbortController();
    const t0 = performance.now();
    setTimeout(() => ac.abort(), 100);
    const err = await failure(client.ask(botRequest(), ac.signal));
    expect({ kind: err.kind, message: err.message }).toEqual({ kind: 'aborted', message: 'bot request aborted' });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(await waitFor(() => server!.received[0]!.socketClosed, 1000)).toBe(true);

    const before = await failure(client.ask(botRequest(), AbortSignal.abort()));
    expect(before.kind).toBe('aborted');
    expect(server.received).toHaveLength(1);
  });

  it('reports connection refused as network, without the URL query or the secret', async () => {
    const port = await closedPort();
    const client = createBotClient(endpoint(`http://user:pw@127.0.0.1:${port}/bot?token=sk-secret-value`, { secret: 's3cr3t' }), { timeoutMs: 2000 });
    const err = await failure(client.ask(botRequest(), never));
    expect({ kind: err.kind, message: err.message }).toEqual({ kind: 'network', message: 'bot unreachable (ECONNREFUSED)' });
    const everything = JSON.stringify({ message: err.message, cause: String(err.cause), stack: err.stack });
    for (const secret of ['sk-secret-value', 's3cr3t', 'pw']) expect(everything).not.toContain(secret);
    expect(describeBotUrl(`http://user:pw@127.0.0.1:${port}/bot?token=sk-secret-value`)).toBe(`http://127.0.0.1:${port}/bot`);
  });

  it('refuses a URL it cannot use at creation', () => {
    expect(() => createBotClient(endpoint('not a url'), { timeoutMs: 1000 })).toThrow('bot URL is not a valid URL');
    expect(() => createBotClient(endpoint('ftp://bot/x'), { timeoutMs: 1000 })).toThrow('bot URL must be http or https, not ftp:');
    expect(() => createBotClient(endpoint('http://bot/x'), { timeoutMs: 0 })).toThrow('positive');
  });
});

describe('request signature', () => {
  const NOW = 1_750_000_000;

  it('signs timestamp.body; a bot verifies it with verifyBotSignature', async () => {
    const verdicts: boolean[] = [];
    server = await startServer((req, res) => {
      const ok = verifyBotSignature('s3cr3t', req.headers, req.body, NOW + 10);
      verdicts.push(ok);
      json(res, ok ? 200 : 401, ok ? { say: 'signed' } : { error: 'bad signature' });
    });
    const client = createBotClient(endpoint(server.url, { secret: 's3cr3t' }), { timeoutMs: 2000, now: () => NOW * 1000 + 999 });
    expect((await client.ask(botRequest(), never)).say).toEqual(['signed']);
    const [got] = server.received;
    expect(got!.headers['x-bot-timestamp']).toBe(String(NOW));
    expect(got!.headers['x-bot-signature']).toBe(signBotRequest('s3cr3t', NOW, got!.body));
    expect(got!.headers['x-bot-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);

    const wrong = createBotClient(endpoint(server.url, { secret: 'other' }), { timeoutMs: 2000, now: () => NOW * 1000 });
    const err = await failure(wrong.ask(botRequest(), never));
    expect(err.message).toBe('bot answered HTTP 401');
    expect(verdicts).toEqual([true, false]);
  });

  it('verifyBotSignature: wrong secret, altered body, old or future timestamp, missing or malformed headers', () => {
    const body = '{"event":"start"}';
    const headers = { 'X-Bot-Timestamp': String(NOW), 'X-Bot-Signature': signBotRequest('k', NOW, body) };
    expect(verifyBotSignature('k', headers, body, NOW)).toBe(true);
    expect(verifyBotSignature('k', headers, Buffer.from(body), NOW + 300)).toBe(true);
    expect(verifyBotSignature('k', new Headers(headers), body, NOW)).toBe(true);
    expect(verifyBotSignature('wrong', headers, body, NOW)).toBe(false);
    expect(verifyBotSignature('k', headers, `${body} `, NOW)).toBe(false);
    expect(verifyBotSignature('k', headers, body, NOW + 301)).toBe(false);
    expect(verifyBotSignature('k', headers, body, NOW - 301)).toBe(false);
    expect(verifyBotSignature('k', headers, body, NOW + 60, 30)).toBe(false);
    expect(verifyBotSignature('k', { 'x-bot-timestamp': String(NOW) }, body, NOW)).toBe(false);
    expect(verifyBotSignature('k', { ...headers, 'X-Bot-Signature': 'sha256=00' }, body, NOW)).toBe(false);
    expect(verifyBotSignature('k', { ...headers, 'X-Bot-Timestamp': `${NOW}.5` }, body, NOW)).toBe(false);
    // A replay with a fresh timestamp but the old signature fails: the timestamp is signed.
    expect(verifyBotSignature('k', { ...headers, 'X-Bot-Timestamp': String(NOW + 1000) }, body, NOW + 1000)).toBe(false);
  });
});
