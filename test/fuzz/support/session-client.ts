/**
 * Runs one generated SessionCase against the server over a real WebSocket, as fast as the wire
 * allows, records everything, and judges it: the protocol model (session-model.ts) plus what the
 * server's own log and engines say about the session (released, engine streams closed, no
 * internal error).
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { ORG_ID } from '../../server/harness.js';
import { ABSENT, OTHER_UUID, type Cls, type Item, type MsgItem, type SessionCase } from './session-arbitraries.js';
import { checkSession, chooseOffer, type Sent, type Tolerate, type Verdict } from './session-model.js';
import type { FuzzServer } from './server.js';

export const FUZZ_API_KEY = 'fuzz-key';

/** How long the upgrade may take (generous: `npm run fuzz` loads both cores with two servers). */
const UPGRADE_MS = 20_000;
/** How long a client waits for an answer the protocol says must come. */
const ANSWER_MS = 8_000;
/** A client that never answers `disconnect` is cut off after CLIENT_GRACE_MS (10 s) at the latest. */
const SILENT_MS = 16_000;
/** After the socket is gone, the session must be released within this. */
const RELEASE_MS = 6_000;

/** Everything a fuzz client received, in order, with arrival times (shared by the session and voice-bot clients). */
export class Recorder {
  readonly texts: string[] = [];
  readonly textTimes: number[] = [];
  closedAt: number | undefined;
  readonly binaries: Array<{ size: number; afterTexts: number; at: number }> = [];
  closed = false;
  closedByServer = false;
  weClosed = false;
  private waiters: Array<() => void> = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) this.binaries.push({ size: data.byteLength, afterTexts: this.texts.length, at: Date.now() });
      else {
        this.texts.push(data.toString('utf8'));
        this.textTimes.push(Date.now());
      }
      this.wake();
    });
    ws.on('close', () => {
      this.closed = true;
      this.closedAt = Date.now();
      this.closedByServer = !this.weClosed;
      this.wake();
    });
    ws.on('error', () => {
      // ECONNRESET and friends: the close handler records the outcome.
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  has(type: string): boolean {
    return this.texts.some((t) => t.includes(`"type":"${type}"`) && safeType(t) === type);
  }

  get lastSeq(): number {
    return this.texts.length;
  }

  async until(pred: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }
}

function safeType(text: string): string | undefined {
  try {
    const v = JSON.parse(text) as { type?: unknown };
    return typeof v.type === 'string' ? v.type : undefined;
  } catch {
    return undefined;
  }
}

/** 2 MiB of fixed pseudo-random bytes; a frame is a slice of it, chosen by the case's seed. */
const NOISE = (() => {
  const b = Buffer.allocUnsafe(2 * 1024 * 1024 + 65_536);
  let x = 0x2545f491;
  for (let i = 0; i < b.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
})();

function noise(size: number, seed: number): Buffer {
  const at = Math.abs(seed) % (NOISE.length - size + 1);
  return NOISE.subarray(at, at + size);
}

/** The envelope of a generated message, with its mutation applied (§2 fields). */
export function envelope(m: MsgItem, sessionId: string, seq: number, serverseq: number): Record<string, unknown> {
  const o: Record<string, unknown> = { version: '2', id: sessionId, type: m.type, seq, serverseq, position: 'PT0S', parameters: m.params };
  const env = m.env;
  const set = (k: string, v: unknown) => {
    if (v === ABSENT) delete o[k];
    else o[k] = v;
  };
  switch (env.t) {
    case 'none':
      break;
    case 'extra':
      o['extraField'] = { nested: [1, 'two'] };
      o['direction'] = 'in';
      break;
    case 'version':
      set('version', env.v);
      break;
    case 'id':
      set('id', { other: OTHER_UUID, upper: sessionId.toUpperCase(), absent: ABSENT, number: 42 }[env.v]);
      break;
    case 'seq':
      set('seq', { gap: seq + env.by, dup: seq - 1, zero: 0, neg: -env.by, float: seq + 0.5, string: String(seq), absent: ABSENT }[env.v]);
      break;
    case 'serverseq':
      set('serverseq', { ahead: serverseq + 1000, neg: -1, float: 0.5, string: String(serverseq), absent: ABSENT }[env.v]);
      break;
    case 'position':
      set('position', env.v);
      break;
    case 'params':
      set('parameters', env.v);
      break;
    case 'type':
      set('type', env.v);
      break;
  }
  return o;
}

/** JSON text, padded to exactly `pad` characters with a `pad` parameter when asked. */
export function serialize(o: Record<string, unknown>, pad: number | undefined): string {
  if (pad === undefined) return JSON.stringify(o);
  const params = { ...(o['parameters'] as Record<string, unknown>), pad: '' };
  const base = JSON.stringify({ ...o, parameters: params }).length;
  return JSON.stringify({ ...o, parameters: { ...params, pad: 'x'.repeat(Math.max(0, pad - base)) } });
}

function describe(item: Item | MsgItem): string {
  if (item.k === 'msg') return `${item.type}${item.env.t === 'none' ? '' : ` [${item.env.t}:${String('v' in item.env ? JSON.stringify(item.env.v) : '')}]`}${item.cls === 'ok' ? '' : ` (${item.cls})`}`;
  return item.k;
}

export interface CaseResult {
  verdict: Verdict;
  problems: string[];
}

export async function runSessionCase(c: SessionCase, srv: FuzzServer, tolerate: Tolerate): Promise<CaseResult> {
  const sessionId = randomUUID();
  const ws = new WebSocket(srv.url, {
    headers: {
      'Audiohook-Organization-Id': ORG_ID,
      'Audiohook-Session-Id': sessionId,
      'Audiohook-Correlation-Id': randomUUID(),
      'X-API-KEY': FUZZ_API_KEY,
    },
    perMessageDeflate: false,
    handshakeTimeout: UPGRADE_MS,
  });
  const rec = new Recorder(ws);
  const t0 = Date.now();
  let failure: Error | undefined;
  ws.once('error', (err) => (failure = err));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('close', () => reject(new Error(`socket closed during the upgrade after ${Date.now() - t0} ms: ${failure?.message ?? 'no error'}`)));
  });

  // Audio frames are sized for the media the first open offers (what the server should pick).
  const firstOpen = c.items.find((i): i is MsgItem => i.k === 'msg' && i.type === 'open');
  const chosen = firstOpen ? chooseOffer(firstOpen.params['media']) : undefined;
  const unit = chosen?.unit ?? 2;
  const silenceByte = chosen?.offer['format'] === 'L16' ? 0x00 : 0xff;

  const sent: Sent[] = [];
  let next = 1;
  const sendText = (text: string, cls: Cls, what: string) => {
    ws.send(text);
    sent.push({ k: 'text', text, bytes: Buffer.byteLength(text), cls, what });
  };
  const sendMsg = (m: MsgItem) => {
    const o = envelope(m, sessionId, next, rec.lastSeq);
    if (m.env.t !== 'seq') next += 1;
    sendText(serialize(o, m.pad), m.cls, describe(m));
  };
  const open = () => ws.readyState === WebSocket.OPEN;

  for (const item of c.items) {
    if (!open()) break;
    switch (item.k) {
      case 'msg':
        sendMsg(item);
        break;
      case 'truncated': {
        const text = JSON.stringify(envelope(item.of, sessionId, next, rec.lastSeq));
        sendText(text.slice(0, Math.floor(text.length * item.keep)), 'ok', `truncated ${describe(item.of)}`);
        break;
      }
      case 'raw':
        sendText(item.text, 'ok', 'raw text');
        break;
      case 'utf8':
        ws.send(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { binary: false });
        sent.push({ k: 'utf8' });
        break;
      case 'audio': {
        const size = item.frames * unit;
        ws.send(item.fill === 'silence' ? Buffer.alloc(size, silenceByte) : noise(size, item.seed), { binary: true });
        sent.push({ k: 'bin', size });
        break;
      }
      case 'bytes':
        ws.send(noise(item.size, item.seed), { binary: true });
        sent.push({ k: 'bin', size: item.size });
        break;
      case 'wait':
        await new Promise((r) => setTimeout(r, item.ms));
        break;
    }
  }

  const closeMsg = (reason: string): MsgItem => ({ k: 'msg', type: 'close', params: { reason }, cls: 'ok', env: { t: 'none' } });
  let waitedFor = '';
  switch (c.ending) {
    case 'close':
      if (open()) sendMsg(closeMsg('end'));
      if (!(await rec.until(() => rec.closed || rec.has('closed'), ANSWER_MS))) waitedFor = 'closed';
      break;
    case 'polite':
      if (!(await rec.until(() => rec.closed || rec.has('closed') || rec.has('disconnect'), ANSWER_MS))) waitedFor = 'disconnect or closed';
      else if (open() && !rec.has('closed') && rec.has('disconnect')) {
        sendMsg(closeMsg('disconnect'));
        if (!(await rec.until(() => rec.closed || rec.has('closed'), ANSWER_MS))) waitedFor = 'closed';
      }
      break;
    case 'drop':
      if (c.dropAfterMs > 0) await new Promise((r) => setTimeout(r, c.dropAfterMs));
      break;
    case 'silent':
      if (!(await rec.until(() => rec.closed || rec.has('closed'), SILENT_MS))) waitedFor = 'the server to end the session and cut the socket';
      break;
  }

  // The server closing the connection (oversized or non-UTF-8 frame, a client cut off): let it finish.
  if (c.ending !== 'drop' && ws.readyState === WebSocket.CLOSING) await rec.until(() => rec.closed, ANSWER_MS);
  const closedByServer = rec.closedByServer || ws.readyState !== WebSocket.OPEN;
  rec.weClosed = true;
  if (c.hangUp === 'close' && c.ending !== 'drop') ws.close();
  else ws.terminate();
  await rec.until(() => rec.closed, 2_000);
  const released = await srv.book.waitEnded(sessionId, RELEASE_MS);

  const verdict = checkSession({ sessionId, sent, texts: rec.texts, closedByServer, ending: c.ending }, tolerate);
  const problems = [...verdict.problems];
  if (waitedFor) problems.push(`hang: waited ${c.ending === 'silent' ? SILENT_MS : ANSWER_MS} ms for ${waitedFor}`);
  if (!rec.closed) problems.push('the socket did not close after the client hung up');
  if (rec.binaries.length > 0) problems.push(`${rec.binaries.length} binary frame(s) from the server (a transcription server sends none: §1)`);
  const record = srv.book.get(sessionId);
  // Streams are closed asynchronously (a retired stream after its flush): give them a moment.
  for (let i = 0; i < 200 && record.streamsOpen > 0; i++) await new Promise((r) => setTimeout(r, 10));
  if (!released) problems.push(`session not released: no "session ended" within ${RELEASE_MS} ms of the socket closing`);
  if (record.streamsOpen !== 0) problems.push(`${record.streamsOpen} engine stream(s) of the session left open`);
  if (verdict.probe && record.streamsOpened > 0 && !verdict.probeStreamsTolerated) problems.push(`the connection probe opened ${record.streamsOpened} engine stream(s) (§9: a probe starts nothing)`);
  for (const e of record.errors) problems.push(`server logged an error: ${e}`);
  srv.book.forget(sessionId);

  if (problems.length > 0) {
    const sentLines = sent.map((s, i) =>
      s.k === 'text' ? `  > ${i + 1}. ${s.what}: ${s.text.length > 240 ? `${s.text.slice(0, 240)}… (${s.text.length} chars)` : s.text}` : s.k === 'bin' ? `  > ${i + 1}. binary ${s.size} bytes` : `  > ${i + 1}. text frame with invalid UTF-8`,
    );
    const got = rec.texts.map((t) => `  < ${t.length > 300 ? `${t.slice(0, 300)}…` : t}`);
    throw new Error(
      [
        `session ${sessionId} (ending: ${c.ending}, socket closed by ${closedByServer ? 'the server' : 'the client'}):`,
        ...problems.map((p) => `  ✗ ${p}`),
        'sent:',
        ...sentLines,
        'received:',
        ...got,
      ].join('\n'),
    );
  }
  return { verdict, problems };
}

