/**
 * AudioHook v2 control messages (protocol §2, §3): types, zod schemas, parsers and serializers.
 *
 * Parsing is tolerant of unknown fields (Genesys adds fields over time, and a probe that fails to
 * parse makes the integration fail to activate) but strict about the shape of what we use.
 * Session-level checks (session id, seq continuity, state) are the session's job, not this file's.
 */
import { z } from 'zod';
import { formatDuration, parseDuration } from './duration.js';

// ---------------------------------------------------------------------------------------------
// Shared types

export type MediaChannel = 'external' | 'internal';

export interface MediaOffer {
  type: 'audio';
  format: 'PCMU' | 'L16' | string; // plain string, so `=== 'PCMU'` narrows
  channels: MediaChannel[];
  rate: number;
}

/** §1: a text message is at most 65,535 characters, in either direction. */
export const MAX_TEXT_MESSAGE_LENGTH = 65_535;

export const CLIENT_MESSAGE_TYPES = [
  'open', 'ping', 'close', 'paused', 'resumed', 'discarded', 'update', 'error', 'dtmf',
  'playback_started', 'playback_completed',
] as const;
export type ClientMessageType = (typeof CLIENT_MESSAGE_TYPES)[number];

export const SERVER_MESSAGE_TYPES = [
  'opened', 'pong', 'closed', 'pause', 'resume', 'disconnect', 'event', 'reconnect', 'updated',
] as const;
export type ServerMessageType = (typeof SERVER_MESSAGE_TYPES)[number];

// ---------------------------------------------------------------------------------------------
// Client → server parameters

export interface Participant {
  id: string;
  ani: string;
  aniName: string;
  dnis: string;
}

export interface OpenParameters {
  organizationId: string;
  conversationId: string;
  participant: Participant;
  /**
   * Offers that have the MediaOffer shape, in the client's order. Each is the very object received
   * (not a copy), so echoing the chosen one in `opened` sends it back unchanged.
   */
  media: MediaOffer[];
  /** The `media` array exactly as received, including offers we could not understand. */
  rawMedia: unknown[];
  language?: string;
  supportedLanguages?: boolean;
  customConfig: Record<string, unknown>;
  inputVariables?: Record<string, string>;
}

export interface PingParameters { rtt?: number }
export interface CloseParameters { reason: 'end' | 'error' | 'disconnect' | 'reconnect' | string }
export interface ResumedParameters { start: number; discarded: number }
export type DiscardedParameters = ResumedParameters;
export interface UpdateParameters { language?: string }
export interface ErrorParameters { code: number; message: string; retryAfter?: number }
export interface DtmfParameters { digit: string }
export type EmptyParameters = Record<string, unknown>;

interface ClientEnvelope<T extends ClientMessageType, P> {
  version: '2';
  id: string;
  type: T;
  seq: number;
  serverseq: number;
  /** Client stream position in seconds (parsed from the Duration). */
  position?: number;
  parameters: P;
}

export type OpenMessage = ClientEnvelope<'open', OpenParameters>;
export type PingMessage = ClientEnvelope<'ping', PingParameters>;
export type CloseMessage = ClientEnvelope<'close', CloseParameters>;
export type PausedMessage = ClientEnvelope<'paused', EmptyParameters>;
export type ResumedMessage = ClientEnvelope<'resumed', ResumedParameters>;
export type DiscardedMessage = ClientEnvelope<'discarded', DiscardedParameters>;
export type UpdateMessage = ClientEnvelope<'update', UpdateParameters>;
export type ErrorMessage = ClientEnvelope<'error', ErrorParameters>;
export type DtmfMessage = ClientEnvelope<'dtmf', DtmfParameters>;
export type PlaybackStartedMessage = ClientEnvelope<'playback_started', EmptyParameters>;
export type PlaybackCompletedMessage = ClientEnvelope<'playback_completed', EmptyParameters>;

export type ClientMessage =
  | OpenMessage | PingMessage | CloseMessage | PausedMessage | ResumedMessage | DiscardedMessage
  | UpdateMessage | ErrorMessage | DtmfMessage | PlaybackStartedMessage | PlaybackCompletedMessage;

// ---------------------------------------------------------------------------------------------
// Server → client parameters

export interface OpenedParameters {
  /** Exactly one of the offered media objects, unchanged, or `[]` for no audio. */
  media: MediaOffer[];
  startPaused: boolean;
  /** Duration text (`PT…S`). */
  discardTo?: string;
  supportedLanguages?: string[];
}
export interface DisconnectParameters {
  reason: 'completed' | 'unauthorized' | 'error';
  info?: string;
  outputVariables?: Record<string, string>;
}
export interface EventEntity { type: string; data: unknown }
export interface EventParameters { entities: EventEntity[] }
export interface ReconnectParameters { info?: string }

export interface ServerMessage {
  version: '2';
  id: string;
  type: ServerMessageType;
  seq: number;
  clientseq: number;
  parameters: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Schemas

/** Treats `null` as absent: some clients serialize unset optionals as null. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === null ? undefined : v), schema.optional());

/** A Duration string that must parse; yields seconds. */
const durationSchema = z
  .string()
  .refine((s) => parseDuration(s) !== undefined, 'invalid duration')
  .transform((s) => parseDuration(s) ?? 0);

/** A Duration that is ignored (undefined) when junk: used where a bad value must not be fatal. */
// `.optional()` last: zod v4 otherwise reports an absent key as missing.
const lenientDuration = z.unknown().transform((v) => parseDuration(v)).optional();

const objectSchema = z.record(z.string(), z.unknown());

const mediaOfferSchema = z.object({
  type: z.literal('audio'),
  format: z.string(),
  channels: z.array(z.enum(['external', 'internal'])),
  rate: z.number(),
});

const openSchema = z.object({
  organizationId: z.string(),
  conversationId: z.string(),
  participant: z.object({
    id: z.string(),
    // Probes send these empty; tolerate them missing too rather than fail an activation.
    ani: z.string().default(''),
    aniName: z.string().default(''),
    dnis: z.string().default(''),
  }),
  media: z.array(z.unknown()),
  language: optional(z.string()),
  supportedLanguages: optional(z.boolean()),
  customConfig: optional(objectSchema),
  inputVariables: optional(z.record(z.string(), z.string())),
});

const pingSchema = z.object({ rtt: lenientDuration });
const closeSchema = z.object({ reason: z.string() });
const gapSchema = z.object({ start: durationSchema, discarded: durationSchema });
const updateSchema = z.object({ language: optional(z.string()) });
const errorSchema = z.object({
  code: z.number(),
  message: optional(z.string()).transform((m) => m ?? ''),
  retryAfter: lenientDuration,
});
const dtmfSchema = z.object({ digit: z.string() });

/** Parameter schemas by type; types without one take any object (`paused`, playback events). */
const PARAMETER_SCHEMAS: Partial<Record<ClientMessageType, z.ZodType<object>>> = {
  ping: pingSchema,
  close: closeSchema,
  resumed: gapSchema,
  discarded: gapSchema,
  update: updateSchema,
  error: errorSchema,
  dtmf: dtmfSchema,
};

/** Optional fields that are absent stay absent (no `key: undefined`). */
function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const envelopeSchema = z.object({
  version: z.literal('2'),
  id: z.string(),
  type: z.string(),
  seq: z.int().min(1),
  serverseq: z.int().min(0),
  position: z.string().optional(),
  parameters: objectSchema,
});

const serverEnvelopeSchema = z.object({
  version: z.literal('2'),
  id: z.string(),
  type: z.string(),
  seq: z.int().min(1),
  clientseq: z.int().min(0),
  parameters: objectSchema,
});

// ---------------------------------------------------------------------------------------------
// Parsing

export type ParseResult<T> = { ok: true; message: T } | { ok: false; error: string };

const isClientType = (t: string): t is ClientMessageType =>
  (CLIENT_MESSAGE_TYPES as readonly string[]).includes(t);
const isServerType = (t: string): t is ServerMessageType =>
  (SERVER_MESSAGE_TYPES as readonly string[]).includes(t);

/** Short, log-safe description of the first zod issue: the path, or the message at top level. */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  return issue.path.length > 0 ? issue.path.map(String).join('.') : issue.message;
}

/** JSON.parse + "is a plain object"; the error text is meant for `disconnect.info`. */
function parseJsonObject(text: string): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: 'invalid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: 'message is not an object' };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/** Envelope errors in a fixed order so the reason names the first broken field. */
function envelopeError(raw: Record<string, unknown>, error: z.ZodError): string {
  const field = error.issues[0]?.path[0];
  if (field === 'version') return `unsupported version ${JSON.stringify(raw.version) ?? 'undefined'}`;
  if (field === 'parameters') return raw.parameters === undefined ? 'missing parameters' : 'parameters must be an object';
  if (typeof field === 'string') return raw[field] === undefined ? `missing ${field}` : `invalid ${field}`;
  return 'invalid message';
}

function parseParameters(type: ClientMessageType, params: Record<string, unknown>): ParseResult<unknown> {
  const fail = (e: z.ZodError): ParseResult<unknown> => ({
    ok: false,
    error: `invalid ${type} parameters: ${firstIssue(e)}`,
  });
  if (type === 'open') {
    const r = openSchema.safeParse(params);
    if (!r.success) return fail(r.error);
    const { customConfig, ...rest } = r.data;
    // Keep the original offer objects so the chosen one is echoed byte-for-byte.
    const media = r.data.media.filter((o): o is MediaOffer => mediaOfferSchema.safeParse(o).success);
    return { ok: true, message: withoutUndefined<OpenParameters>({ ...rest, media, rawMedia: r.data.media, customConfig: customConfig ?? {} }) };
  }
  const schema = PARAMETER_SCHEMAS[type];
  if (!schema) return { ok: true, message: params };
  const r = schema.safeParse(params);
  return r.success ? { ok: true, message: withoutUndefined(r.data) } : fail(r.error);
}

/** JSON object, version and a known type: the checks both directions share, in that order. */
function parseHead<T extends string>(
  text: string,
  isKnown: (type: string) => type is T,
): { ok: true; value: { raw: Record<string, unknown>; type: T } } | { ok: false; error: string } {
  const json = parseJsonObject(text);
  if (!json.ok) return json;
  const raw = json.value;
  // Version first: a future version may legitimately use types we do not know.
  if (raw.version !== '2') return { ok: false, error: `unsupported version ${JSON.stringify(raw.version) ?? 'undefined'}` };
  if (typeof raw.type !== 'string') return { ok: false, error: raw.type === undefined ? 'missing type' : 'invalid type' };
  if (!isKnown(raw.type)) return { ok: false, error: `unknown message type '${raw.type.slice(0, 40)}'` };
  return { ok: true, value: { raw, type: raw.type } };
}

/** Parses one client text frame. Does not check session id or seq continuity. */
export function parseClientMessage(text: string): ParseResult<ClientMessage> {
  const head = parseHead(text, isClientType);
  if (!head.ok) return head;
  const { raw, type } = head.value;
  const env = envelopeSchema.safeParse(raw);
  if (!env.success) return { ok: false, error: envelopeError(raw, env.error) };
  let position: number | undefined;
  if (env.data.position !== undefined) {
    position = parseDuration(env.data.position);
    if (position === undefined) return { ok: false, error: 'invalid position' };
  }
  const params = parseParameters(type, env.data.parameters);
  if (!params.ok) return params;
  const message = {
    version: '2' as const,
    id: env.data.id,
    type,
    seq: env.data.seq,
    serverseq: env.data.serverseq,
    ...(position === undefined ? {} : { position }),
    parameters: params.message,
  } as ClientMessage;
  return { ok: true, message };
}

/** Parses one server text frame (test client / CLI side). Validates the envelope only. */
export function parseServerMessage(text: string): ParseResult<ServerMessage> {
  const head = parseHead(text, isServerType);
  if (!head.ok) return head;
  const { raw, type } = head.value;
  const env = serverEnvelopeSchema.safeParse(raw);
  if (!env.success) return { ok: false, error: envelopeError(raw, env.error) };
  return { ok: true, message: { ...env.data, type } };
}

// ---------------------------------------------------------------------------------------------
// Serializing

/** `parameters` must always be a JSON object: the client rejects a server message without one. */
function asParameters(p: unknown): object {
  return typeof p === 'object' && p !== null && !Array.isArray(p) ? p : {};
}

/** Serializes a server message: `version` first, never `position` or other client-only fields. */
export function serializeServerMessage(m: {
  id: string;
  type: ServerMessageType;
  seq: number;
  clientseq: number;
  parameters: object;
}): string {
  return JSON.stringify({
    version: '2',
    id: m.id,
    type: m.type,
    seq: m.seq,
    clientseq: m.clientseq,
    parameters: asParameters(m.parameters),
  });
}

/** Serializes a client message (test client / CLI); `position` is in seconds. */
export function serializeClientMessage(m: {
  id: string;
  type: ClientMessageType;
  seq: number;
  serverseq: number;
  position: number;
  parameters: object;
}): string {
  return JSON.stringify({
    version: '2',
    id: m.id,
    type: m.type,
    seq: m.seq,
    serverseq: m.serverseq,
    position: formatDuration(m.position),
    parameters: asParameters(m.parameters),
  });
}
