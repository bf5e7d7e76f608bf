/**
 * The offline default: a fresh server (no engine named anywhere) transcribes the demo call with
 * pocketsphinx through the whole server, driven by the Genesys-like CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import type { RunningServer } from '../../src/server/server.js';
import { API_KEY, CLIENT_SECRET, DEMO, demoTurns, run, startRealServer } from './helpers.js';

const installed = loadConfig({}).engines.local !== undefined;
if (!installed) console.log('skipping the offline engine tests: pocketsphinx is not installed (scripts/install-offline-engine.sh)');

let server: RunningServer;
beforeAll(async () => {
  if (installed) server = await startRealServer({ DEFAULT_SPEECH_PROVIDER: 'local', RATE_LIMIT_PER_SECOND: '100' });
});
afterAll(async () => server?.close());

describe.skipIf(!installed)('the offline default engine through the server', () => {
  it('transcribes the demo call: real words on the right channel, near each turn', async () => {
    const r = await run(['--url', server.url, '--api-key', API_KEY, '--client-secret', CLIENT_SECRET, '--speed', '4', '--json', DEMO]);
    expect(r.code, r.err.join('\n')).toBe(0);
    const finals = r.json.filter((l) => l.type === 'transcript' && l.isFinal === true) as Array<{ channelId: number; offset: number; text: string }>;
    const turns = demoTurns();
    expect(finals).toHaveLength(turns.length);
    // pocketsphinx on 8 kHz telephone audio is demo quality: key words, not whole sentences.
    const keyWords = [['daniel'], ['daniel', 'account'], ['confirm', 'digits', 'account'], [], ['savings', 'balance', 'dollars'], ['needed']];
    turns.forEach((turn, i) => {
      const got = finals[i]!;
      expect(got.channelId).toBe(turn.channelId);
      expect(Math.abs(got.offset - turn.start), `turn ${i} at ${got.offset}`).toBeLessThan(0.5);
      for (const word of keyWords[i]!) expect(got.text.toLowerCase()).toContain(word);
    });
    expect(r.json.find((l) => l.type === 'summary')).toMatchObject({ ok: true, closed: true, protocolErrors: [] });
  }, 60_000);
});
