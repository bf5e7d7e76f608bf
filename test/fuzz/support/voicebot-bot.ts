/**
 * The bot behind the fuzzed voice-bot sessions: a local HTTP server (127.0.0.1) that answers each
 * turn from the plan its case registered for the session (by the request's sessionId, the turn's
 * number indexing the plan), so that what the bot does is part of the generated case and
 * reproducible. It answers at once (except `slow`), with short prompts, and records per session
 * every request it got and every answer it gave, for the oracle (voicebot-model.ts).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BotRequest } from '../../../src/voicebot/bot/types.js';

/**
 * What the bot does at one turn:
 * - `greet`: a short cached prompt ('Hello.' at start, 'Okay.' later);
 * - `fresh`: a prompt never said before (a synthesis cache miss: flite runs);
 * - `long`: three sentences (~5 s of audio: room to barge in; two flite runs, one ahead);
 * - `two`: two prompts in one answer;
 * - `quiet`: `{}` (say nothing, keep listening); `blank`: prompts that are only spaces; `empty`: 204;
 * - `digits`, `digitsStar`: a prompt and collectDigits (max 4 with `#`; `*` as terminator, 200 ms between keys);
 * - `noBarge`: an uninterruptible prompt;
 * - `end`: 'Goodbye.' then the end, with output variables (numbers and booleans among them);
 * - `endQuiet`: the end without a prompt;
 * - `slow`: a short prompt after 450 ms, past BOT_TIMEOUT_MS; `fail`: HTTP 500; `bad`: a reply that is not valid.
 */
export const BOT_MOVES = ['greet', 'fresh', 'long', 'two', 'quiet', 'blank', 'empty', 'digits', 'digitsStar', 'noBarge', 'end', 'endQuiet', 'slow', 'fail', 'bad'] as const;
export type BotMove = (typeof BOT_MOVES)[number];

/** Moves after which the bot ends the call. */
export const ENDING_MOVES: readonly BotMove[] = ['end', 'endQuiet'];
/** Moves that fail the turn (BOT_MAX_FAILURES of them in a row, or at `start`, end the call). */
export const FAILING_MOVES: readonly BotMove[] = ['slow', 'fail', 'bad'];
/** Moves whose answer has no prompt. */
export const SILENT_MOVES: readonly BotMove[] = ['quiet', 'blank', 'empty', 'endQuiet'];

/** How late a `slow` answer comes (BOT_TIMEOUT_MS is well below). */
export const SLOW_MS = 450;

const LONG_PROMPT = 'Thank you for calling the fuzz line. Our opening hours are from nine in the morning to five in the afternoon. Is there anything else I can do for you today?';

/** A 2xx answer with a body the server accepts, as the server normalizes it. */
export interface BotAnswer {
  turn: number;
  event: string;
  move: BotMove;
  /** The prompts joined with spaces, blanks dropped: what `bot_turn_response.text` says. */
  text: string;
  end: boolean;
  /** Strings, as Architect gets them. */
  outputVariables: Record<string, string>;
  /** When it was written (Date.now). */
  at: number;
}

export interface BotSessionLog {
  requests: Array<BotRequest & { receivedAt: number }>;
  answers: BotAnswer[];
}

export interface FuzzBot {
  url: string;
  /** The plan of a session's turns (turn n plays plan[n - 1]; past the plan: `greet`). */
  plan(sessionId: string, moves: readonly BotMove[]): void;
  log(sessionId: string): BotSessionLog;
  forget(sessionId: string): void;
  /** Requests for sessions already forgotten (a turn still in flight when its case was judged), by event. */
  readonly strays: Map<string, number>;
  /** Requests that were not a well-formed BotRequest. */
  readonly malformed: string[];
  close(): Promise<void>;
}

function reply(move: BotMove, req: BotRequest, nonce: number): { status: number; body?: unknown; raw?: string } {
  const later = req.event !== 'start';
  switch (move) {
    case 'greet':
      return { status: 200, body: { say: [later ? 'Okay.' : 'Hello.'] } };
    case 'fresh':
      return { status: 200, body: { say: `Number ${nonce} at turn ${req.turn}.` } };
    case 'long':
      return { status: 200, body: { say: [LONG_PROMPT] } };
    case 'two':
      return { status: 200, body: { say: ['One moment.', 'Here it is.'] } };
    case 'quiet':
      return { status: 200, body: {} };
    case 'blank':
      return { status: 200, body: { say: ['   ', ''], bargeIn: true } };
    case 'empty':
      return { status: 204 };
    case 'digits':
      return { status: 200, body: { say: ['Enter your number.'], collectDigits: { maxDigits: 4, terminator: '#' } } };
    case 'digitsStar':
      return { status: 200, body: { say: 'Press star when done.', collectDigits: { terminator: '*', interDigitTimeoutMs: 200, maxDigits: 64 } } };
    case 'noBarge':
      return { status: 200, body: { say: ['Please listen carefully.'], bargeIn: false } };
    case 'end':
      return { status: 200, body: { say: ['Goodbye.'], end: true, outputVariables: { turn: req.turn, event: req.event, done: true, tier: req.inputVariables?.['customerTier'] ?? '' } } };
    case 'endQuiet':
      return { status: 200, body: { end: true, outputVariables: { turn: String(req.turn), empty: '' } } };
    case 'slow':
      return { status: 200, body: { say: ['Sorry for the wait.'] } };
    case 'fail':
      return { status: 500, raw: 'internal error' };
    case 'bad':
      return req.turn % 2 === 0 ? { status: 200, raw: '{"say": ' } : { status: 200, body: { say: 5, end: 'yes' } };
  }
}

/** What the server makes of an accepted body (reply.ts): prompts trimmed, blanks dropped, variables as strings. */
function normalized(body: unknown): Pick<BotAnswer, 'text' | 'end' | 'outputVariables'> {
  const b = (body ?? {}) as { say?: unknown; end?: unknown; outputVariables?: Record<string, unknown> };
  const say = b.say === undefined ? [] : typeof b.say === 'string' ? [b.say] : (b.say as string[]);
  const vars = Object.fromEntries(Object.entries(b.outputVariables ?? {}).map(([k, v]) => [k, String(v)]));
  return { text: say.map((s) => s.trim()).filter((s) => s !== '').join(' '), end: b.end === true, outputVariables: vars };
}

export async function startFuzzBot(): Promise<FuzzBot> {
  const plans = new Map<string, readonly BotMove[]>();
  const logs = new Map<string, BotSessionLog>();
  const strays = new Map<string, number>();
  const malformed: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let nonce = 0;

  const answer = (res: ServerResponse, log: BotSessionLog | undefined, req: BotRequest, move: BotMove) => {
    nonce += 1;
    const r = reply(move, req, nonce);
    if (res.destroyed || res.writableEnded) return;
    if (r.status === 200 && r.body !== undefined && move !== 'bad') {
      log?.answers.push({ turn: req.turn, event: req.event, move, ...normalized(r.body), at: Date.now() });
    } else if (r.status === 204) {
      log?.answers.push({ turn: req.turn, event: req.event, move, text: '', end: false, outputVariables: {}, at: Date.now() });
    }
    if (r.raw !== undefined) res.writeHead(r.status, { 'content-type': 'text/plain' }).end(r.raw);
    else if (r.body === undefined) res.writeHead(r.status).end();
    else res.writeHead(r.status, { 'content-type': 'application/json' }).end(JSON.stringify(r.body));
  };

  const handle = (httpReq: IncomingMessage, res: ServerResponse, raw: string) => {
    let req: BotRequest;
    try {
      req = JSON.parse(raw) as BotRequest;
    } catch {
      malformed.push(raw.slice(0, 200));
      res.writeHead(400).end();
      return;
    }
    if (httpReq.method !== 'POST' || typeof req !== 'object' || req === null || typeof req.sessionId !== 'string' || typeof req.turn !== 'number' || typeof req.event !== 'string') {
      malformed.push(raw.slice(0, 200));
      res.writeHead(400).end();
      return;
    }
    const log = logs.get(req.sessionId);
    const plan = plans.get(req.sessionId);
    if (!log || !plan) strays.set(req.event, (strays.get(req.event) ?? 0) + 1);
    log?.requests.push({ ...req, receivedAt: Date.now() });
    // The end of the call: its answer is ignored.
    if (req.event === 'end') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    const move: BotMove = plan?.[req.turn - 1] ?? 'greet';
    if (move !== 'slow') return answer(res, log, req, move);
    const t = setTimeout(() => {
      timers.delete(t);
      answer(res, log, req, move);
    }, SLOW_MS);
    timers.add(t);
    res.once('close', () => {
      clearTimeout(t);
      timers.delete(t);
    });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bot`;
  return {
    url,
    strays,
    malformed,
    plan(sessionId, moves) {
      plans.set(sessionId, moves);
      logs.set(sessionId, { requests: [], answers: [] });
    },
    log(sessionId) {
      return logs.get(sessionId) ?? { requests: [], answers: [] };
    },
    forget(sessionId) {
      plans.delete(sessionId);
      logs.delete(sessionId);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
