/**
 * The offline demo FAQ bot, speaking our webhook format: opening hours, the address, goodbye, a
 * few DTMF keys and a digit-collection demo. Its prompts are short plain sentences (numbers in
 * words) because they are synthesized with flite and, in a test, recognized back by pocketsphinx;
 * its keyword matching is loose because its input comes from that recognizer.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { verifyBotSignature } from './signature.js';
import type { BotReply, BotRequest } from './types.js';

export const DEMO_PROMPTS = {
  greeting: 'Welcome to the demo line. You can ask about opening hours, the address, or say goodbye. You can also press 1 for opening hours.',
  hours: 'We are open Monday to Friday, from nine in the morning to five in the evening.',
  address: 'We are at one hundred Main Street, in the city center.',
  more: 'What else can I help you with?',
  help: 'You can ask about opening hours, the address, or say goodbye.',
  unmatched: 'Sorry, I did not get that. You can ask about opening hours or the address.',
  stillThere: 'Are you still there? You can ask about opening hours or the address.',
  noInputBye: 'I did not hear anything. Goodbye.',
  goodbye: 'Thank you for calling. Goodbye.',
  account: 'Please enter your account number followed by the hash key.',
  noDigits: 'I did not get any digits.',
  badKey: 'Sorry, that key is not in use. Press 1 for opening hours, or 2 for the address.',
  ack: 'Sure.',
} as const;

type Topic = 'hours' | 'address';

interface SessionState {
  /** Caller turns answered (utterance, dtmf, no_input). */
  turns: number;
  lastTopic: Topic | undefined;
  /** no_input turns in a row. */
  silentTurns: number;
  /** The last reply asked for an account number. */
  awaitingAccount: boolean;
}

// Word lists, not phrases: the recognizer drops and swaps short words ("ours" for "hours",
// "a dress" for "address"). Checked on word boundaries against the lowercased text.
const HOURS = ['hours', 'hour', 'ours', 'open', 'opening', 'opens', 'close', 'closing', 'closed', 'time', 'times', 'when'];
const ADDRESS = ['address', 'dress', 'where', 'located', 'location', 'directions', 'find'];
const GOODBYE = ['bye', 'goodbye', "that's all", 'that is all', 'thats all', 'nothing else', 'no thanks', 'no thank you', 'thank you', 'thanks', 'hang up'];
const HELP = ['help', 'menu', 'options', 'repeat'];

function mentions(text: string, words: readonly string[]): boolean {
  return words.some((w) => new RegExp(`(^|[^a-z'])${w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^a-z'])`).test(text));
}

const DIGIT_WORDS: Record<string, string> = {
  '0': 'zero', '1': 'one', '2': 'two', '3': 'three', '4': 'four', '5': 'five', '6': 'six', '7': 'seven', '8': 'eight', '9': 'nine', '*': 'star', '#': 'hash',
};

/** Digits read one by one in words ("one two three"), which flite says clearly. */
export function spellDigits(digits: string): string {
  return [...digits].map((d) => DIGIT_WORDS[d] ?? '').filter((w) => w !== '').join(' ');
}

export interface DemoBotOptions {
  /** Sessions remembered at once; the least recently used is forgotten first. */
  maxSessions?: number;
  /** When set, HTTP requests must carry a valid X-Bot-Signature made with it (401 otherwise). */
  secret?: string;
}

/** What the demo reads of a BotRequest. */
export type DemoBotInput = Pick<BotRequest, 'sessionId' | 'event' | 'text' | 'digits' | 'bargeIn'>;

export interface DemoBot {
  reply(request: DemoBotInput): BotReply;
  handleHttp(req: IncomingMessage, res: ServerResponse): void;
  /** Sessions currently remembered (for tests). */
  readonly sessions: number;
}

export function createDemoBot(options: DemoBotOptions = {}): DemoBot {
  const maxSessions = options.maxSessions ?? 1000;
  const states = new Map<string, SessionState>();

  function stateOf(sessionId: string): SessionState {
    let state = states.get(sessionId);
    if (state === undefined) state = { turns: 0, lastTopic: undefined, silentTurns: 0, awaitingAccount: false };
    // Re-inserting keeps the Map in least-recently-used order for the size cap.
    states.delete(sessionId);
    states.set(sessionId, state);
    while (states.size > maxSessions) states.delete(states.keys().next().value as string);
    return state;
  }

  function answer(state: SessionState, topics: Topic[], ack: boolean): BotReply {
    const say: string[] = ack ? [DEMO_PROMPTS.ack] : [];
    for (const topic of topics) say.push(DEMO_PROMPTS[topic]);
    state.lastTopic = topics.at(-1) ?? state.lastTopic;
    say.push(DEMO_PROMPTS.more);
    return { say, end: false, outputVariables: {}, bargeIn: true };
  }

  function goodbye(sessionId: string, state: SessionState, intent: string, prompt: string): BotReply {
    states.delete(sessionId);
    return {
      say: [prompt],
      end: true,
      outputVariables: { intent, turns: String(state.turns), lastTopic: state.lastTopic ?? 'none' },
      // The last words of the call: let them be heard in full.
      bargeIn: false,
    };
  }

  function reply(request: DemoBotInput): BotReply {
    const id = request.sessionId;
    if (request.event === 'end') {
      states.delete(id);
      return { say: [], end: true, outputVariables: {}, bargeIn: true };
    }
    const state = stateOf(id);
    if (request.event === 'start') {
      Object.assign(state, { turns: 0, lastTopic: undefined, silentTurns: 0, awaitingAccount: false });
      return { say: [DEMO_PROMPTS.greeting], end: false, outputVariables: {}, bargeIn: true };
    }
    state.turns++;
    if (request.event === 'no_input') {
      state.silentTurns++;
      if (state.silentTurns >= 2) return goodbye(id, state, 'no_input', DEMO_PROMPTS.noInputBye);
      // Keep waiting for the account number if that was asked.
      const reply: BotReply = { say: [DEMO_PROMPTS.stillThere], end: false, outputVariables: {}, bargeIn: true };
      if (state.awaitingAccount) {
        reply.say = [DEMO_PROMPTS.account];
        reply.collectDigits = { maxDigits: 8, terminator: '#' };
      }
      return reply;
    }
    state.silentTurns = 0;
    const ack = request.bargeIn !== undefined;

    if (request.event === 'dtmf') {
      const digits = request.digits ?? '';
      if (state.awaitingAccount) {
        state.awaitingAccount = false;
        const readBack = digits === '' ? DEMO_PROMPTS.noDigits : `You entered ${spellDigits(digits)}. Thank you.`;
        return { say: [readBack, DEMO_PROMPTS.more], end: false, outputVariables: {}, bargeIn: true };
      }
      if (digits === '1') return answer(state, ['hours'], ack);
      if (digits === '2') return answer(state, ['address'], ack);
      if (digits === '0') {
        state.awaitingAccount = true;
        return { say: [DEMO_PROMPTS.account], end: false, outputVariables: {}, collectDigits: { maxDigits: 8, terminator: '#' }, bargeIn: true };
      }
      return { say: [DEMO_PROMPTS.badKey], end: false, outputVariables: {}, bargeIn: true };
    }

    // utterance: speech cancels a pending account number request.
    state.awaitingAccount = false;
    const text = (request.text ?? '').toLowerCase().replace(/\s+/g, ' ').trim();
    const topics: Topic[] = [];
    if (mentions(text, HOURS)) topics.push('hours');
    if (mentions(text, ADDRESS)) topics.push('address');
    // A question wins over a polite "thanks" in the same breath.
    if (topics.length > 0) return answer(state, topics, ack);
    if (mentions(text, GOODBYE)) return goodbye(id, state, 'goodbye', DEMO_PROMPTS.goodbye);
    if (mentions(text, HELP)) return { say: [DEMO_PROMPTS.help], end: false, outputVariables: {}, bargeIn: true };
    return { say: [DEMO_PROMPTS.unmatched], end: false, outputVariables: {}, bargeIn: true };
  }

  function handleHttp(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'POST') {
      send(res, 405, { error: 'use POST' }, { allow: 'POST' });
      req.resume();
      return;
    }
    readBody(req, MAX_REQUEST_BYTES).then(
      (body) => {
        if (body === undefined) return send(res, 413, { error: 'request too large' });
        if (options.secret !== undefined && !verifyBotSignature(options.secret, req.headers, body, Math.floor(Date.now() / 1000))) {
          return send(res, 401, { error: 'bad signature' });
        }
        let json: unknown;
        try {
          json = JSON.parse(body.toString('utf8'));
        } catch {
          return send(res, 400, { error: 'invalid JSON' });
        }
        const parsed = demoRequest.safeParse(json);
        if (!parsed.success) return send(res, 400, { error: `invalid request: ${parsed.error.issues[0]?.path.join('.') || 'body'}` });
        send(res, 200, reply(parsed.data));
      },
      () => {
        if (!res.headersSent) send(res, 400, { error: 'request could not be read' });
      },
    );
  }

  return {
    reply,
    handleHttp,
    get sessions() {
      return states.size;
    },
  };
}

const MAX_REQUEST_BYTES = 64 * 1024;

/** The fields the demo reads; the rest of a BotRequest passes through unchecked. */
const demoRequest = z.looseObject({
  sessionId: z.string().min(1),
  turn: z.number(),
  event: z.enum(['start', 'utterance', 'dtmf', 'no_input', 'end']),
  text: z.string().optional(),
  digits: z.string().optional(),
  bargeIn: z.object({ heardMs: z.number(), promptMs: z.number(), heardText: z.string() }).optional(),
});

/** The raw body, or undefined past `max` bytes. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The shared instance the main server mounts at `POST /demo-bot`. */
const shared = createDemoBot();

/** One turn of the shared demo bot (state per sessionId, forgotten at `end`). */
export function demoBotReply(request: BotRequest): BotReply {
  return shared.reply(request);
}

/** node:http handler for the shared demo bot: POST a BotRequest, get a BotReply (400/405/413 otherwise). */
export function handleDemoBotHttp(req: IncomingMessage, res: ServerResponse): void {
  shared.handleHttp(req, res);
}

export interface RunningDemoBot {
  /** `http://host:port/` (any path is served). */
  url: string;
  close(): Promise<void>;
}

/** The demo bot alone on its own HTTP server (port 0 = any free port). */
export async function startDemoBot(options: { port?: number; host?: string } & DemoBotOptions = {}): Promise<RunningDemoBot> {
  const bot = options.secret !== undefined || options.maxSessions !== undefined ? createDemoBot(options) : shared;
  const server: Server = createServer((req, res) => bot.handleHttp(req, res));
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections from fetch would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}
