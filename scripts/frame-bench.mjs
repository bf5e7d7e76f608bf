#!/usr/bin/env node
// The per-frame path alone: µs per stereo PCMU 200 ms frame through AudioHookSession.handleBinary
// with the simulated engine (40 sessions × 3,000 frames, no sockets). Compares two builds:
//   npm run build && node scripts/frame-bench.mjs [checkout dir, default .]
// Run it interleaved against another checkout's build (git worktree) to judge a change.
import { resolve } from 'node:path';
import { pino } from 'pino';
const dir = resolve(process.argv[2] ?? '.');
const { AudioHookSession } = await import(`${dir}/dist/session/session.js`);
const { createEngineRegistry } = await import(`${dir}/dist/engines/registry.js`);
const { createSimulatedEngine } = await import(`${dir}/dist/engines/simulated/index.js`);
const { loadConfig } = await import(`${dir}/dist/config/config.js`);
const config = loadConfig({ DEFAULT_SPEECH_PROVIDER: 'simulated' });
const engines = createEngineRegistry([createSimulatedEngine()], 'simulated');
const settings = { supportedLanguages: undefined, defaultLanguage: 'en-US', interimResults: false, tokenLanguage: 'full', sendUpdated: false,
  idleTimeoutMs: 600000, openTimeoutMs: 600000, closeFlushTimeoutMs: 8000, rateLimit: config.rateLimit };
const N = 40, FRAMES = 3000;
const sessions = [];
for (let i = 0; i < N; i++) {
  const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const org = '11111111-1111-4111-8111-111111111111';
  const s = new AudioHookSession({ id, organizationId: org, settings, engines, transport: { send() {}, end() {} }, log: pino({ level: 'silent' }) });
  s.handleText(JSON.stringify({ version: '2', id, type: 'open', seq: 1, serverseq: 0, position: 'PT0S', parameters: {
    organizationId: org, conversationId: '22222222-2222-4222-8222-222222222222', participant: { id: '33333333-3333-4333-8333-333333333333', ani: '', aniName: '', dnis: '' },
    media: [{ type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 }], language: 'en-US' } }));
  sessions.push(s);
}
// Speech-like µ-law: alternating loud and quiet 1 s stretches.
const frames = [];
for (let f = 0; f < 10; f++) { const b = new Uint8Array(3200); for (let i = 0; i < b.length; i++) b[i] = f % 5 < 2 ? (i * 37) & 0x7f : 0xff; frames.push(b); }
const t0 = process.hrtime.bigint();
for (let k = 0; k < FRAMES; k++) for (const s of sessions) s.handleBinary(frames[k % 10]);
const ns = Number(process.hrtime.bigint() - t0);
console.log((ns / (N * FRAMES) / 1000).toFixed(3));
process.exit(0);
