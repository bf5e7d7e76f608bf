/**
 * Runs one generated VoiceBotCase against the server over a real WebSocket on the voice-bot path,
 * records every text and binary frame (and when each binary arrived, after how many texts), and
 * judges it: the voice-bot model (voicebot-model.ts), the bot's own record of the session, and
 * what the server's log and engines say (released, engine streams closed, no internal error).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { encodeMulawSample } from '../../../src/audio/mulaw.js';
import { callerAudioFromWav } from '../../../src/cli/voicebot/script.js';
import { ORG_ID } from '../../server/harness.js';
import type { Cls, MsgItem } from './session-arbitraries.js';
import { chooseOffer, type Sent } from './session-model.js';
import type { FuzzServer } from './server.js';
import { envelope, FUZZ_API_KEY, Recorder, serialize } from './session-client.js';
import type { FuzzBot } from './voicebot-bot.js';
import { pathOf, type Fill, type VbItem, type VoiceBotCase } from './voicebot-arbitraries.js';
import { checkVoiceBotSession, type VbTolerate } from './voicebot-model.js';

/** Generous: two cores, possibly loaded by something else. */
const UPGRADE_MS = 20_000;
const ANSWER_MS = 8_000;
/** A client that never answers `disconnect` is cut off after CLIENT_GRACE_MS (10 s) at the latest. */
const SILENT_MS = 16_000;
const RELEASE_MS = 6_000;
/** The bot's `end` request is sent as the call ends, asynchronously: how long to wait for it. */
const BOT_END_MS = 4_000;

/** What the fuzzing reached, over all cases (printed at the end of the run: proof the paths are exercised). */
export const VB_STATS = new Map<string, number>();
const tally = (k: string, n = 1) => void VB_STATS.set(k, (VB_STATS.get(k) ?? 0) + n);


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fixed pseudo-random bytes; a frame of noise is a slice of them. */
const NOISE = (() => {
  const b = Buffer.allocUnsafe(256 * 1024);
  let x = 0x2545f491;
  for (let i = 0; i < b.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
})();

/** Real speech (the committed flite samples, 8 kHz), as PCM16: what the VAD and the engine hear as a voice. */
const SPEECH: Int16Array = (() => {
  const parts = ['hours.wav', 'address.wav', 'goodbye.wav'].map((n) => callerAudioFromWav(n, readFileSync(new URL(`../../../samples/voicebot/${n}`, import.meta.url))).pcm);
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
})();

/** `samples` sample frames of `fill` in the negotiated media (PCMU/L16, 1–2 channels), from `offset` in the source. */
function audioFrame(samples: number, fill: Fill, offset: number, media: { format: 'PCMU' | 'L16'; channels: number }): Buffer {
  const bytesPerSample = media.format === 'PCMU' ? 1 : 2;
  const size = samples * bytesPerSample * media.channels;
  switch (fill) {
    case 'silence':
      return Buffer.alloc(size, media.format === 'PCMU' ? 0xff : 0x00);
    case 'noise': {
      const at = Math.abs(offset) % (NOISE.length - size);
      return NOISE.subarray(at, at + size);
    }
    case 'loud': {
      // Full scale: 0x00 in µ-law, −32768 in L16.
      if (media.format === 'PCMU') return Buffer.alloc(size, 0x00);
      const b = Buffer.alloc(size);
      for (let i = 0; i < size; i += 2) b.writeInt16LE(-32768, i);
      return b;
    }
    case 'speech': {
      const b = Buffer.alloc(size);
      for (let s = 0; s < samples; s++) {
        const v = SPEECH[(offset + s) % SPEECH.length]!;
        for (let c = 0; c < media.channels; c++) {
          if (media.format === 'PCMU') b[s * media.channels + c] = encodeMulawSample(v);
          else b.writeInt16LE(v, (s * media.channels + c) * 2);
        }
      }
      return b;
    }
  }
}

function describe(item: VbItem): string {
  if (item.k === 'msg') return `${item.type}${item.env.t === 'none' ? '' : ` [${item.env.t}:${String('v' in item.env ? JSON.stringify(item.env.v) : '')}]`}${item.cls === 'ok' ? '' : ` (${item.cls})`}`;
  return item.k;
}

export interface VbContext {
  srv: FuzzServer;
  bot: FuzzBot;
  tolerate: VbTolerate;
}

export async function runVoiceBotCase(c: VoiceBotCase, ctx: VbContext): Promise<void> {
  const { srv, bot } = ctx;
  const sessionId = randomUUID();
  const prefix = srv.config.voiceBot.path;
  const url = `ws://127.0.0.1:${srv.port}${pathOf(c.path, prefix)}`;
  bot.plan(sessionId, c.plan);
  try {
    await runCase(c, ctx, sessionId, url);
  } finally {
    bot.forget(sessionId);
    srv.book.forget(sessionId);
  }
}

async function runCase(c: VoiceBotCase, ctx: VbContext, sessionId: string, url: string): Promise<void> {
  const { srv, bot } = ctx;
  const ws = new WebSocket(url, {
    headers: {
      'Audiohook-Organization-Id': ORG_ID,
      'Audiohook-Session-Id': sessionId,
      'Audiohook-Correlation-Id': randomUUID(),
      'X-API-KEY': FUZZ_API_KEY,
    },
    perMessageDeflate: false,
    handshakeTimeout: UPGRADE_MS,
  });
  const t0 = Date.now();
  let failure: Error | undefined;
  ws.on('error', (err) => (failure ??= err));
  const upgrade = await new Promise<{ ok: true } | { ok: false; status: number }>((resolve, reject) => {
    ws.once('open', () => resolve({ ok: true }));
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve({ ok: false, status: res.statusCode ?? 0 });
    });
    ws.once('close', () => reject(new Error(`socket closed during the upgrade after ${Date.now() - t0} ms: ${failure?.message ?? 'no error'}`)));
  });
  if (c.path.kind === 'invalid') {
    tally('path not a connector’s');
    ws.terminate();
    if (upgrade.ok || upgrade.status !== 404) throw new Error(`${url}: a path that names no connector must be refused with 404 at the upgrade; got ${upgrade.ok ? '101' : upgrade.status}`);
    if (bot.log(sessionId).requests.length > 0) throw new Error(`${url}: the bot was asked about a refused upgrade`);
    return;
  }
  if (!upgrade.ok) throw new Error(`${url}: upgrade refused: ${upgrade.status}`);
  const rec = new Recorder(ws);

  // Audio is sized for the media the first open offers (what the server should pick).
  const firstOpen = c.items.find((i): i is MsgItem => i.k === 'msg' && i.type === 'open');
  const chosen = firstOpen ? chooseOffer(firstOpen.params['media']) : undefined;
  const media = { format: chosen?.offer['format'] === 'L16' ? ('L16' as const) : ('PCMU' as const), channels: chosen?.channels ?? 1 };

  const sent: Sent[] = [];
  const sentTimes: number[] = [];
  let next = 1;
  let openSentAt: number | undefined;
  const open = () => ws.readyState === WebSocket.OPEN;
  const sendText = (text: string, cls: Cls, what: string) => {
    ws.send(text);
    sent.push({ k: 'text', text, bytes: Buffer.byteLength(text), cls, what });
    sentTimes.push(Date.now());
  };
  const sendMsg = (m: MsgItem) => {
    const o = envelope(m, sessionId, next, rec.lastSeq);
    if (m.env.t !== 'seq') next += 1;
    if (m.type === 'open' && openSentAt === undefined) openSentAt = Date.now();
    sendText(serialize(o, m.pad), m.cls, describe(m));
  };
  const sendAudio = (frame: Buffer) => {
    ws.send(frame, { binary: true });
    sent.push({ k: 'bin', size: frame.byteLength });
    sentTimes.push(Date.now());
  };
  const plain = (type: string, params: Record<string, unknown> = {}): MsgItem => ({ k: 'msg', type, params, cls: 'ok', env: { t: 'none' } });

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
        sentTimes.push(Date.now());
        break;
      case 'audio':
        sendAudio(audioFrame(item.samples, item.fill, item.seed, media));
        break;
      case 'stream': {
        const samples = item.frameMs * 8;
        for (let f = 0; f < item.frames && open(); f++) {
          sendAudio(audioFrame(samples, item.fill, item.seed + f * samples, media));
          await sleep(item.frameMs);
        }
        break;
      }
      case 'bytes':
        sendAudio(NOISE.length >= item.size ? NOISE.subarray(0, item.size) : Buffer.alloc(item.size, 0x55));
        break;
      case 'wait':
        await sleep(item.ms);
        break;
    }
  }

  let waitedFor = '';
  const answerDisconnect = async () => {
    if (open() && !rec.has('closed') && rec.has('disconnect')) {
      sendMsg(plain('close', { reason: 'disconnect' }));
      if (!(await rec.until(() => rec.closed || rec.has('closed'), ANSWER_MS))) waitedFor = 'closed';
    }
  };
  switch (c.ending) {
    case 'close':
      if (open()) sendMsg(plain('close', { reason: 'end' }));
      if (!(await rec.until(() => rec.closed || rec.has('closed'), ANSWER_MS))) waitedFor = 'closed';
      break;
    case 'polite':
      if (!(await rec.until(() => rec.closed || rec.has('closed') || rec.has('disconnect'), ANSWER_MS))) waitedFor = 'disconnect or closed';
      else await answerDisconnect();
      break;
    case 'converse': {
      // As Genesys: the caller's line in real time (silence), playback reports for the bot's audio.
      const until = Date.now() + c.converseMs;
      let heard = 0;
      let playing = false;
      let playEnd = 0;
      const over = () => !open() || rec.has('disconnect') || rec.has('closed');
      while (!over() && Date.now() < until) {
        if (rec.has('opened') && chosen) sendAudio(audioFrame(800, 'silence', 0, media));
        if (c.playbackReports) {
          for (; heard < rec.binaries.length; heard++) playEnd = Math.max(playEnd, rec.binaries[heard]!.at) + 200;
          if (heard > 0 && !playing && playEnd > Date.now()) {
            playing = true;
            sendMsg(plain('playback_started'));
          } else if (playing && Date.now() > playEnd + 50) {
            playing = false;
            sendMsg(plain('playback_completed'));
          }
        }
        await rec.until(over, 100);
      }
      if (rec.has('disconnect')) await answerDisconnect();
      else if (open() && !rec.has('closed')) {
        sendMsg(plain('close', { reason: 'end' }));
        if (!(await rec.until(() => rec.closed || rec.has('closed'), ANSWER_MS))) waitedFor = 'closed';
      }
      break;
    }
    case 'drop':
      if (c.dropAfterMs > 0) await sleep(c.dropAfterMs);
      break;
    case 'silent':
      if (!(await rec.until(() => rec.closed || rec.has('closed'), SILENT_MS))) waitedFor = 'the server to end the session and cut the socket';
      break;
  }

  if (c.ending !== 'drop' && ws.readyState === WebSocket.CLOSING) await rec.until(() => rec.closed, ANSWER_MS);
  const closedByServer = rec.closedByServer || ws.readyState !== WebSocket.OPEN;
  rec.weClosed = true;
  if (c.hangUp === 'close' && c.ending !== 'drop') ws.close();
  else ws.terminate();
  await rec.until(() => rec.closed, 2_000);
  const released = await srv.book.waitEnded(sessionId, RELEASE_MS);
  const record = srv.book.get(sessionId);

  const connectorId = c.path.kind === 'empty' ? '' : c.path.id;
  const verdict = checkVoiceBotSession(
    {
      sessionId,
      connector: { id: connectorId, known: c.path.kind === 'known' },
      plan: c.plan,
      sent,
      texts: rec.texts,
      binaries: rec.binaries,
      openSentAt,
      // Before the upgrade request: the server's idle clock starts after it.
      upgradedAt: t0,
      sentTimes,
      textTimes: rec.textTimes,
      socketClosedAt: rec.closedAt,
      idleMs: srv.config.idleTimeoutMs,
      noInputMs: srv.config.voiceBot.noInputMs,
      endMarginMs: srv.config.voiceBot.endMarginMs,
      closedByServer,
      ending: c.ending,
      bot: bot.log(sessionId),
      summary: record.voiceBot,
    },
    ctx.tolerate,
  );
  const problems = [...verdict.problems];
  if (waitedFor) problems.push(`hang: waited ${c.ending === 'silent' ? SILENT_MS : ANSWER_MS} ms for ${waitedFor}`);
  if (!rec.closed) problems.push('the socket did not close after the client hung up');
  for (let i = 0; i < 200 && record.streamsOpen > 0; i++) await sleep(10);
  if (!released) problems.push(`session not released: no "session ended" within ${RELEASE_MS} ms of the socket closing`);
  if (record.streamsOpen !== 0) problems.push(`${record.streamsOpen} engine stream(s) of the session left open`);
  for (const e of record.errors) problems.push(`server logged an error: ${e}`);
  if (verdict.conversation && released && record.voiceBot === undefined) problems.push('the `session ended` line of a voice-bot conversation has no voiceBot summary');
  // The bot hears of the end of a call it did not end itself (README: `end`, reason hangup or error).
  const must = verdict.botMustHearEnd;
  if (must) {
    const log = bot.log(sessionId);
    const told = () => log.requests.find((r) => r.event === 'end');
    await new Promise<void>((resolve) => {
      const deadline = Date.now() + BOT_END_MS;
      const poll = () => (told() || Date.now() > deadline ? resolve() : void setTimeout(poll, 20));
      poll();
    });
    const end = told();
    if (!end) problems.push(`the bot was never told the call ended (${must.why}; expected event end, reason ${must.reason}, within ${BOT_END_MS} ms)`);
    else if (!(must.reason === 'hangup or error' ? ['hangup', 'error'] : [must.reason]).includes(String(end.reason))) problems.push(`the bot was told the call ended with reason ${JSON.stringify(end.reason)}; expected ${must.reason} (${must.why})`);
  }

  tally('sessions');
  tally(`end: ${verdict.end}`);
  if (verdict.conversation) {
    const log = bot.log(sessionId);
    tally('conversations');
    tally('bot frames received', rec.binaries.length);
    if (rec.binaries.length > 0) tally('conversations with bot audio');
    for (const r of log.requests) tally(`bot heard ${r.event}`);
    for (const t of rec.texts) {
      if (t.includes('"barge_in"')) tally('barge_in events');
      if (t.includes('"bot_turn_response"')) tally('bot_turn_response events');
    }
    if (rec.texts.some((t) => t.includes('"outputVariables"'))) tally('disconnect completed with outputVariables');
    tally('turns timed out under load', verdict.loadTimeouts);
  }

  if (problems.length > 0) {
    const sentLines = sent.map((s, i) =>
      s.k === 'text' ? `  > ${i + 1}. ${s.what}: ${s.text.length > 240 ? `${s.text.slice(0, 240)}… (${s.text.length} chars)` : s.text}` : s.k === 'bin' ? `  > ${i + 1}. binary ${s.size} bytes` : `  > ${i + 1}. text frame with invalid UTF-8`,
    );
    const got: string[] = [];
    let b = 0;
    for (let i = 0; i <= rec.texts.length; i++) {
      let run = 0;
      while (b < rec.binaries.length && rec.binaries[b]!.afterTexts === i) {
        run += 1;
        b += 1;
      }
      if (run > 0) got.push(`  < ${run} binary frame(s)`);
      const t = rec.texts[i];
      if (t !== undefined) got.push(`  < ${t.length > 300 ? `${t.slice(0, 300)}…` : t}`);
    }
    const heard = bot.log(sessionId).requests.map((r) => `  bot < turn ${r.turn} ${r.event}${r.digits !== undefined ? ` digits ${JSON.stringify(r.digits)}` : ''}${r.text !== undefined ? ` text ${JSON.stringify(r.text)}` : ''}${r.reason ? ` reason ${r.reason}` : ''}`);
    throw new Error(
      [
        `voice-bot session ${sessionId} on ${url.replace(/^ws:\/\/[^/]+/, '')} (plan ${c.plan.join(',')}; ending: ${c.ending}; socket closed by ${closedByServer ? 'the server' : 'the client'}):`,
        ...problems.map((p) => `  ✗ ${p}`),
        'sent:',
        ...sentLines,
        'received:',
        ...got,
        'the bot heard:',
        ...heard,
        `server summary: ${JSON.stringify(record.voiceBot)}`,
      ].join('\n'),
    );
  }
}
