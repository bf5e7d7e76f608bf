#!/usr/bin/env node
/**
 * `npm run bench:translation`: what translation adds to the delay of a final transcript, and what
 * the deadline costs when the service is slow. In one process, on 127.0.0.1: the real server
 * (simulated engine), the real Gemini SDK against the local fake Gemini API (whose own answer
 * delay is scripted and subtracted), and a few mono AudioHook clients streaming tone utterances.
 *
 * The figure: from sending the audio frame that ends an utterance (the simulated engine ends it
 * after 400 ms of silence, so that frame follows from the transcript's own end) to receiving its
 * final transcript, exact percentiles over every final.
 *
 *   node dist/cli/translation-bench.js [--sessions 20] [--seconds 20] [--speed 2]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import WebSocket from 'ws';
import { loadConfig } from '../config/config.js';
import { createEngineRegistry } from '../engines/registry.js';
import { createSimulatedEngine } from '../engines/simulated/index.js';
import { encodeMulaw } from '../audio/mulaw.js';
import { parseDuration } from '../protocol/duration.js';
import { serializeClientMessage } from '../protocol/messages.js';
import { startServer } from '../server/server.js';
import { startFakeGemini, type FakeGeminiBehaviour } from '../testing/fake-gemini/server.js';
import { createConfiguredTranslation } from '../translation/configured.js';

const ORG = 'd7934305-0972-4844-938e-9060eef73d05';
const FRAME_MS = 200;
/** The simulated engine's end silence: a final leaves with the frame in which it completes. */
const END_SILENCE_S = 0.4;

interface Scenario {
  name: string;
  translate: boolean;
  /** The fake service's answer delay, subtracted from the figures when constant. */
  delay?: { fixedMs?: number; minMs?: number; maxMs?: number };
  timeoutMs?: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'no translation (baseline)', translate: false },
  { name: 'translation, service answers at once', translate: true, delay: { fixedMs: 0 } },
  { name: 'translation, service takes 300 ms', translate: true, delay: { fixedMs: 300 } },
  { name: 'slow service (1–4 s), 2 s deadline', translate: true, delay: { minMs: 1000, maxMs: 4000 }, timeoutMs: 2000 },
  { name: 'slow service (1–4 s), 5 s deadline', translate: true, delay: { minMs: 1000, maxMs: 4000 }, timeoutMs: 5000 },
];

const { values } = parseArgs({ options: { sessions: { type: 'string' }, seconds: { type: 'string' }, speed: { type: 'string' } } });
const sessions = Number(values.sessions ?? 20);
const seconds = Number(values.seconds ?? 20);
const speed = Number(values.speed ?? 2);

/** µ-law frames: a 1 s tone every 2 s (one utterance each), 200 ms per frame. */
function callAudio(totalSeconds: number): Uint8Array[] {
  const pcm = new Int16Array(totalSeconds * 8000);
  for (let i = 0; i < pcm.length; i++) if (i % 16000 >= 2000 && i % 16000 < 10000) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  const per = (8000 * FRAME_MS) / 1000;
  const frames: Uint8Array[] = [];
  for (let i = 0; i < pcm.length; i += per) frames.push(encodeMulaw(pcm.subarray(i, i + per)));
  return frames;
}

/** Latency (ms) of each final of one call. */
async function runSession(url: string, translate: boolean, frames: Uint8Array[]): Promise<number[]> {
  const id = randomUUID();
  const ws = new WebSocket(url, {
    headers: { 'Audiohook-Organization-Id': ORG, 'Audiohook-Session-Id': id, 'Audiohook-Correlation-Id': randomUUID(), 'X-API-KEY': 'bench' },
  });
  let seq = 0;
  let serverSeq = 0;
  const latencies: number[] = [];
  const sentAt: number[] = [];
  let closed!: () => void;
  const done = new Promise<void>((r) => (closed = r));
  const send = (type: 'open' | 'close', parameters: object) =>
    ws.send(serializeClientMessage({ id, type, seq: ++seq, serverseq: serverSeq, position: 0, parameters }));
  ws.on('message', (data, binary) => {
    if (binary) return;
    const now = performance.now();
    const m = JSON.parse(String(data)) as { type: string; seq: number; parameters: { entities?: Array<{ data: { isFinal: boolean; offset: string; duration: string } }> } };
    serverSeq = m.seq;
    const t = m.parameters.entities?.[0]?.data;
    if (m.type === 'event' && t?.isFinal) {
      const speechEnd = (parseDuration(t.offset) ?? 0) + (parseDuration(t.duration) ?? 0);
      const frame = Math.floor((speechEnd + END_SILENCE_S - 1e-6) / (FRAME_MS / 1000));
      const sent = sentAt[frame];
      if (sent !== undefined) latencies.push(now - sent);
    }
    if (m.type === 'closed' || m.type === 'disconnect') closed();
  });
  await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
  send('open', {
    organizationId: ORG,
    conversationId: randomUUID(),
    participant: { id: randomUUID(), ani: '', aniName: '', dnis: '' },
    media: [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }],
    language: 'en-US',
    customConfig: translate ? { enableTranslation: true, inputLanguage: 'eu-ES' } : {},
  });
  // Calls do not start in step: spread them over one utterance cycle.
  await new Promise((r) => setTimeout(r, (Math.random() * 2000) / speed));
  const started = performance.now();
  for (let i = 0; i < frames.length; i++) {
    const due = started + (i * FRAME_MS) / speed;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    sentAt[i] = performance.now();
    ws.send(frames[i]!);
  }
  send('close', { reason: 'end' });
  await done;
  ws.close();
  return latencies;
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
}

function randomDelay(d: NonNullable<Scenario['delay']>): number {
  if (d.fixedMs !== undefined) return d.fixedMs;
  return (d.minMs ?? 0) + Math.random() * ((d.maxMs ?? 0) - (d.minMs ?? 0));
}

async function runScenario(s: Scenario) {
  const behaviour: FakeGeminiBehaviour = { delayMs: () => (s.delay ? randomDelay(s.delay) : 0) };
  const gemini = await startFakeGemini(behaviour);
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    DEFAULT_SPEECH_PROVIDER: 'simulated',
    MAX_SESSIONS: String(sessions + 10),
    RATE_LIMIT_PER_SECOND: '1000',
    RATE_LIMIT_BURST: '1000',
    GEMINI_API_KEY: 'bench-key',
    GEMINI_BASE_URL: gemini.url,
    TRANSLATION_TIMEOUT_MS: String(s.timeoutMs ?? 2000),
    // Sized for the offered load (Little's law: finals per second × service time), so the figures
    // show the deadline's cost rather than a queue.
    TRANSLATION_CONCURRENCY: '256',
    TRANSLATION_RATE_PER_SECOND: '500',
  });
  const translation = await createConfiguredTranslation(config);
  const server = await startServer(config, {
    engines: createEngineRegistry([createSimulatedEngine()], 'simulated'),
    log: pino({ level: 'silent' }),
    ...(translation ? { translation } : {}),
  });
  const frames = callAudio(seconds);
  const perSession = await Promise.all(Array.from({ length: sessions }, () => runSession(server.url, s.translate, frames)));
  const latencies = perSession.flat().sort((a, b) => a - b);
  const stats = server.stats;
  const row = {
    scenario: s.name,
    finals: latencies.length,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: latencies.at(-1) ?? 0,
    fixedDelay: s.delay?.fixedMs,
    translated: stats.translations.translated,
    fallbacks: stats.translations.timeout + stats.translations.failed,
  };
  await server.close();
  await gemini.close();
  return row;
}

const rows = [];
for (const s of SCENARIOS) rows.push(await runScenario(s));
const ms = (x: number) => `${x.toFixed(1)} ms`;
console.log(`${sessions} sessions × ${seconds} s of audio at ${speed}× real time, one utterance every 2 s (Node ${process.version})\n`);
console.log('| scenario | finals | end of utterance → final p50 / p99 (max) | minus the fake service delay, p50 / p99 | translated | sent untranslated |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const net = r.fixedDelay !== undefined ? `${ms(r.p50 - r.fixedDelay)} / ${ms(r.p99 - r.fixedDelay)}` : '—';
  console.log(`| ${r.scenario} | ${r.finals} | ${ms(r.p50)} / ${ms(r.p99)} (${ms(r.max)}) | ${net} | ${r.translated} | ${r.fallbacks} |`);
}
process.exit(0);
