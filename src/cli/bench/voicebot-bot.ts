/**
 * The voice-bot benchmark's fake bot: an HTTP server in the benchmark process on 127.0.0.1,
 * speaking the webhook format (src/voicebot/bot/types.ts). It answers by turn, whatever the
 * caller said, with the demo FAQ bot's own prompts — the greeting, then "hours", "address",
 * and on the third caller turn the goodbye with `end: true` and output variables — after
 * `thinkMs`. So every call has the same mix of bot speech whatever the recognizer made of the
 * caller (the `simulated` engine hears only `[speech …]`), and the call always ends.
 *
 * It also asks the demo bot's keyword matching (src/voicebot/bot/demo.ts) what it would have
 * made of each utterance: how many of the demo script's questions the recognizer got right
 * enough, a check that recognition still works under load.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDemoBot, DEMO_PROMPTS } from '../../voicebot/bot/demo.js';
import type { BotReply, BotRequest } from '../../voicebot/bot/types.js';
import { HOST } from './processes.js';

/** What the demo script's caller asks, turn by turn (samples/voicebot/demo.json). */
const EXPECTED = ['hours', 'address', 'goodbye'] as const;
/** The caller turn that ends the call. */
export const LAST_TURN = EXPECTED.length;

export interface BotCounts {
  requests: number;
  starts: number;
  /** Caller turns (utterance, dtmf, no_input). */
  turns: number;
  utterances: number;
  noInput: number;
  /** Utterances the demo bot's matching understood as what the script asked at that turn. */
  understood: number;
  ends: number;
  /** Requests the bot could not read (400). */
  bad: number;
}

export interface FakeBot {
  url: string;
  counts: BotCounts;
  /** Zeroes the counts (per step). */
  reset(): void;
  close(): Promise<void>;
}

const zero = (): BotCounts => ({ requests: 0, starts: 0, turns: 0, utterances: 0, noInput: 0, understood: 0, ends: 0, bad: 0 });

export async function startFakeBot(options: { thinkMs: number }): Promise<FakeBot> {
  const counts = zero();
  const turnsBySession = new Map<string, number>();
  // Only asked what it would have answered; its state per probe is dropped at once.
  const demo = createDemoBot({ maxSessions: 16 });

  const understood = (text: string, turn: number): boolean => {
    const expected = EXPECTED[turn - 1];
    if (!expected) return false;
    const reply = demo.reply({ sessionId: 'probe', event: 'utterance', text });
    demo.reply({ sessionId: 'probe', event: 'end' });
    return reply.say.includes(DEMO_PROMPTS[expected]);
  };

  const answer = (request: BotRequest): BotReply => {
    const id = request.sessionId;
    if (request.event === 'start') {
      counts.starts += 1;
      turnsBySession.set(id, 0);
      return { say: [DEMO_PROMPTS.greeting], end: false, outputVariables: {}, bargeIn: true };
    }
    if (request.event === 'end') {
      counts.ends += 1;
      turnsBySession.delete(id);
      return { say: [], end: true, outputVariables: {}, bargeIn: true };
    }
    const turn = (turnsBySession.get(id) ?? 0) + 1;
    turnsBySession.set(id, turn);
    counts.turns += 1;
    if (request.event === 'utterance') {
      counts.utterances += 1;
      if (understood(request.text ?? '', turn)) counts.understood += 1;
    } else if (request.event === 'no_input') counts.noInput += 1;
    if (turn >= LAST_TURN) {
      turnsBySession.delete(id);
      return { say: [DEMO_PROMPTS.goodbye], end: true, outputVariables: { intent: 'goodbye', turns: String(turn) }, bargeIn: false };
    }
    const topic = turn === 1 ? DEMO_PROMPTS.hours : DEMO_PROMPTS.address;
    return { say: [topic, DEMO_PROMPTS.more], end: false, outputVariables: {}, bargeIn: true };
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      counts.requests += 1;
      let request: BotRequest;
      try {
        request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as BotRequest;
        if (typeof request.sessionId !== 'string' || typeof request.event !== 'string') throw new Error('not a bot request');
      } catch {
        counts.bad += 1;
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad request"}');
        return;
      }
      const body = JSON.stringify(answer(request));
      const send = (): void => {
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      };
      if (options.thinkMs > 0) setTimeout(send, options.thinkMs);
      else send();
    });
  };

  const server = createServer(handle);
  // The server keeps its connections to the bot alive between turns.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${HOST}:${port}/bot`,
    counts,
    reset() {
      Object.assign(counts, zero());
      turnsBySession.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
