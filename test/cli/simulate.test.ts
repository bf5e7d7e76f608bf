/** The CLI against the real server on 127.0.0.1: calls, probe, scripted events, auth, load. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.js';
import { API_KEY, CLIENT_SECRET, DEMO, demoTurns, run, startRealServer } from './helpers.js';

let server: RunningServer;
let base: string[];
beforeAll(async () => {
  server = await startRealServer({ SUPPORTED_LANGUAGES: 'en-US,es-ES' });
  base = ['--url', server.url, '--api-key', API_KEY, '--client-secret', CLIENT_SECRET];
});
afterAll(async () => {
  await server.close();
});

interface T { channelId: number; offset: number; isFinal: boolean; language?: string; text: string }
const finals = (json: Array<Record<string, unknown>>): T[] =>
  json.filter((l) => l.type === 'transcript' && l.isFinal === true) as unknown as T[];
const summaryOf = (json: Array<Record<string, unknown>>) => json.find((l) => l.type === 'summary') ?? {};

/** Where the simulated engine puts a turn: its energy detector starts a little after the text does. */
const near = (offset: number, start: number): boolean => offset >= start - 0.1 && offset <= start + 0.6;

describe('simulate against the real server', () => {
  it('streams the demo call and receives one final per turn, on the right channel and time', async () => {
    const r = await run([...base, '--speed', '20', '--json', DEMO]);
    expect(r.code, r.err.join('\n')).toBe(0);
    const got = finals(r.json);
    const turns = demoTurns();
    expect(got).toHaveLength(turns.length);
    turns.forEach((turn, i) => {
      expect(got[i]?.channelId).toBe(turn.channelId);
      expect(near(got[i]?.offset ?? -1, turn.start), `turn ${i} at ${got[i]?.offset}, expected ~${turn.start}`).toBe(true);
    });
    const s = summaryOf(r.json);
    expect(s).toMatchObject({ ok: true, closed: true, protocolErrors: [], finals: turns.length });
    expect(s.media).toEqual({ type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 });
  });

  it('prints readable transcript lines and a summary', async () => {
    const r = await run([...base, '--speed', '20', DEMO]);
    expect(r.code).toBe(0);
    expect(r.out.filter((l) => /customer \(ch0\)\s+final/.test(l))).toHaveLength(3);
    expect(r.out.filter((l) => /agent \(ch1\)\s+final/.test(l))).toHaveLength(3);
    expect(r.out.join('\n')).toMatch(/session [0-9a-f-]+: ok[\s\S]*protocol errors: none/);
  });

  it('probes the connection and prints the supported languages', async () => {
    const r = await run([...base, '--probe']);
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.out.join('\n')).toMatch(/probe [0-9a-f-]+: ok/);
    expect(r.out.join('\n')).toContain('supported languages: en-US, es-ES');
  });

  it('pauses and resumes: nothing transcribed in the pause, later offsets still on the file timeline', async () => {
    const r = await run([...base, '--speed', '20', '--json', '--pause-at', '5', '--resume-at', '10', DEMO]);
    expect(r.code, r.err.join('\n')).toBe(0);
    const got = finals(r.json);
    expect(got.some((t) => t.offset > 5.05 && t.offset < 10)).toBe(false);
    // The agent's 10.9 s turn must land at 10.9 s, not 5 s earlier: the server counted the pause.
    expect(got.some((t) => t.channelId === 1 && near(t.offset, 10.9))).toBe(true);
    const s = summaryOf(r.json);
    expect(s.streamedSeconds as number).toBeCloseTo((s.positionSeconds as number) - 5, 5);
    expect(r.json.filter((l) => l.type === 'notice').map((l) => l.text)).toEqual(['client paused at 5.0 s', 'client resumed at 10.0 s']);
  });

  it('discards audio: the gap is declared and later turns keep their file times', async () => {
    const r = await run([...base, '--speed', '20', '--json', '--discard-at', '15:2', DEMO]);
    expect(r.code, r.err.join('\n')).toBe(0);
    const got = finals(r.json);
    expect(got.some((t) => t.offset > 15.05 && t.offset < 16.99)).toBe(false);
    expect(got.some((t) => t.channelId === 1 && near(t.offset, 19.39))).toBe(true);
    expect(got.some((t) => t.channelId === 0 && near(t.offset, 24.81))).toBe(true);
  });

  it('switches language mid-call', async () => {
    const r = await run([...base, '--speed', '20', '--json', '--update-language-at', '18:es-ES', DEMO]);
    expect(r.code, r.err.join('\n')).toBe(0);
    const got = finals(r.json);
    expect(got.filter((t) => t.offset < 15).every((t) => t.language === 'en-US')).toBe(true);
    expect(got.filter((t) => t.offset > 19).every((t) => t.language === 'es-ES')).toBe(true);
  });

  it('rejects a bad client secret with a clear message and a non-zero exit', async () => {
    const wrong = Buffer.from('not the right secret at all').toString('base64');
    const r = await run(['--url', server.url, '--api-key', API_KEY, '--client-secret', wrong, '--probe']);
    expect(r.code).toBe(1);
    expect(r.err.join('\n')).toContain('upgrade rejected: HTTP 401 (check --api-key/--client-secret)');
  });

  it('runs a small load and folds it into one report', async () => {
    const r = await run([...base, '--sessions', '6', '--rate', '30', '--speed', '10', '--loop', '--duration', '40', '--json', DEMO]);
    expect(r.code, r.out.join('\n')).toBe(0);
    const report = r.json.find((l) => l.type === 'report');
    expect(report).toMatchObject({ sessions: 6, ok: 6, failed: 0, protocolErrors: 0 });
    // 40 s of the looped call: a pass and a bit, so more than the six turns of one pass each.
    expect(report?.finals as number).toBeGreaterThanOrEqual(6 * 7);
    expect((report?.openLatencyMs as { p99: number }).p99).toBeGreaterThan(0);
  });
});
