/**
 * The two reply formats, validated and normalized into a BotReply, and the Rasa request body.
 * Everything here is pure; the HTTP side is in webhook.ts.
 */
import { z } from 'zod';
import type { BotReply, BotRequest } from './types.js';

/** A reply that did not match its format. The message names the field, never a value. */
export class BadReply extends Error {}

/** Architect variables are strings; numbers and booleans are what a JSON bot naturally sends. */
const variableValue = z.union([z.string(), z.number(), z.boolean()], {
  error: 'expected string, number or boolean values',
}).transform(String);

const outputVariables = z.record(z.string(), variableValue, { error: 'expected an object' });

const collectDigits = z.object(
  {
    maxDigits: z.number({ error: 'expected a number' }).int('expected an integer').min(1, 'expected 1 to 64').max(64, 'expected 1 to 64').nullish(),
    terminator: z.string({ error: 'expected a string' }).regex(/^[0-9*#]$/, 'expected one of 0-9 * #').nullish(),
    interDigitTimeoutMs: z.number({ error: 'expected a number' }).int('expected an integer').min(100, 'expected 100 to 60000').max(60_000, 'expected 100 to 60000').nullish(),
  },
  { error: 'expected an object' },
);

const boolean = z.boolean({ error: 'expected true or false' });

/** The fields a bot controls besides speech: the webhook reply, and a Rasa `custom` payload. */
const controls = {
  end: boolean.nullish(),
  outputVariables: outputVariables.nullish(),
  collectDigits: collectDigits.nullish(),
  bargeIn: boolean.nullish(),
};

// z.object strips unknown keys: a bot may send more than we read (forward compatibility).
const webhookReply = z.object(
  {
    say: z.union([z.string(), z.array(z.string())], { error: 'expected a string or an array of strings' }).nullish(),
    ...controls,
  },
  { error: 'expected a JSON object' },
);

const rasaCustom = z.object(controls);

const rasaMessage = z.object(
  {
    text: z.string({ error: 'expected a string' }).nullish(),
    custom: z.unknown().optional(),
  },
  { error: 'expected an object' },
);

const rasaReply = z.array(rasaMessage, { error: 'expected a JSON array of messages' });

type Controls = z.infer<typeof rasaCustom>;

/** The first problem, by field path. Record keys (the bot's variable names) are left out. */
function firstProblem(error: z.ZodError, prefix = ''): string {
  const issue = error.issues[0];
  if (issue === undefined) return `${prefix}invalid`;
  const path: string[] = [];
  for (const part of issue.path) {
    if (typeof part === 'number') path.push(`[${part}]`);
    else {
      path.push(path.length === 0 ? String(part) : `.${String(part)}`);
      if (part === 'outputVariables') break;
    }
  }
  const where = prefix + path.join('');
  return where === '' ? issue.message : `${where}: ${issue.message}`;
}

function promptsOf(say: string | readonly string[] | null | undefined): string[] {
  const list = say === null || say === undefined ? [] : typeof say === 'string' ? [say] : say;
  // A blank prompt would synthesize silence: drop it rather than make the caller wait.
  return list.map((s) => s.trim()).filter((s) => s !== '');
}

function digitsOf(c: Controls['collectDigits']): BotReply['collectDigits'] {
  if (c === null || c === undefined) return undefined;
  const out: NonNullable<BotReply['collectDigits']> = {};
  if (c.maxDigits != null) out.maxDigits = c.maxDigits;
  if (c.terminator != null) out.terminator = c.terminator;
  if (c.interDigitTimeoutMs != null) out.interDigitTimeoutMs = c.interDigitTimeoutMs;
  return out;
}

/** Say nothing, keep going: what an empty body (or 204) means. */
export function emptyReply(): BotReply {
  return { say: [], end: false, outputVariables: {}, bargeIn: true };
}

/** Our webhook format. `json` is the parsed body (`undefined` for an empty one). */
export function parseWebhookReply(json: unknown): BotReply {
  if (json === undefined) return emptyReply();
  const parsed = webhookReply.safeParse(json);
  if (!parsed.success) throw new BadReply(firstProblem(parsed.error));
  const r = parsed.data;
  const reply: BotReply = {
    say: promptsOf(r.say),
    end: r.end ?? false,
    outputVariables: r.outputVariables ?? {},
    bargeIn: r.bargeIn ?? true,
  };
  const digits = digitsOf(r.collectDigits);
  if (digits !== undefined) reply.collectDigits = digits;
  return reply;
}

/**
 * Rasa's REST channel answer: `[{recipient_id, text?, image?, buttons?, custom?}, ...]`.
 * `say` is every `text` in order; a `custom` object may carry our controls (`end`,
 * `outputVariables`, `collectDigits`, `bargeIn`). Several customs combine: `end` if any says so,
 * variables merged (later wins), the last `collectDigits`, `bargeIn` false if any says false.
 * A `custom` that is not an object (or has none of these keys) is for another channel: ignored.
 */
export function parseRasaReply(json: unknown): BotReply {
  if (json === undefined) return emptyReply();
  const parsed = rasaReply.safeParse(json);
  if (!parsed.success) throw new BadReply(firstProblem(parsed.error));
  const reply = emptyReply();
  for (const [i, message] of parsed.data.entries()) {
    if (typeof message.text === 'string') reply.say.push(...promptsOf(message.text));
    const custom = message.custom;
    if (custom === null || typeof custom !== 'object' || Array.isArray(custom)) continue;
    const c = rasaCustom.safeParse(custom);
    if (!c.success) throw new BadReply(firstProblem(c.error, `[${i}].custom.`));
    if (c.data.end === true) reply.end = true;
    if (c.data.outputVariables) Object.assign(reply.outputVariables, c.data.outputVariables);
    const digits = digitsOf(c.data.collectDigits);
    if (digits !== undefined) reply.collectDigits = digits;
    if (c.data.bargeIn === false) reply.bargeIn = false;
  }
  return reply;
}

/** Intents (Rasa's `/intent` payload syntax) for the turns that carry no caller text. */
export const RASA_INTENTS = {
  start: '/start',
  noInput: '/no_input',
  end: '/end',
  /** Speech was heard but nothing recognized: Rasa's own fallback intent. */
  nothingRecognized: '/nlu_fallback',
} as const;

/** The Rasa REST channel request for one turn: `{sender, message, metadata}`. */
export function toRasaRequest(request: BotRequest): { sender: string; message: string; metadata: Record<string, unknown> } {
  let message: string;
  switch (request.event) {
    case 'start': message = RASA_INTENTS.start; break;
    case 'utterance': message = request.text?.trim() || RASA_INTENTS.nothingRecognized; break;
    case 'dtmf': message = request.digits ?? ''; break;
    case 'no_input': message = RASA_INTENTS.noInput; break;
    case 'end': message = RASA_INTENTS.end; break;
  }
  // Rasa stores `metadata` on the user event, where custom actions read it
  // (tracker.latest_message.metadata). Undefined fields vanish in JSON.
  const metadata: Record<string, unknown> = {
    connectorId: request.connectorId,
    conversationId: request.conversationId,
    language: request.language,
    turn: request.turn,
    event: request.event,
    inputVariables: request.inputVariables,
    caller: request.caller,
    confidence: request.confidence,
    digits: request.digits,
    bargeIn: request.bargeIn,
    reason: request.reason,
  };
  return { sender: request.sessionId, message, metadata };
}
