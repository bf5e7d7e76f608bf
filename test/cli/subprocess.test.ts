/** The built CLI as users run it: `node dist/cli/main.js simulate …` in a child process. */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.js';
import { API_KEY, CLIENT_SECRET, DEMO, startRealServer } from './helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
// Under the repository (so `ws`, `pino` … resolve and package.json says ESM), in a git-ignored folder,
// not dist/: a developer's own build is left alone.
const outDir = `${root}tmp/cli-test-build`;
const main = `${outDir}/cli/main.js`;

let server: RunningServer;
beforeAll(async () => {
  // Type errors elsewhere in the tree still emit JavaScript; only the output matters here.
  spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`, '--outDir', outDir], { cwd: root });
  if (!existsSync(main)) throw new Error(`build produced no ${main}`);
  server = await startRealServer();
});
afterAll(async () => {
  await server?.close();
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { cwd: root, env: { PATH: process.env.PATH ?? '' } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('node dist/cli/main.js', () => {
  it('streams the demo call and prints its transcript', async () => {
    const r = await cli(['simulate', '--url', server.url, '--api-key', API_KEY, '--client-secret', CLIENT_SECRET, '--speed', '20', DEMO]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter((l) => / final /.test(l))).toHaveLength(6);
    expect(r.stdout).toMatch(/protocol errors: none/);
  });

  it('exits 1 with a clear message on a bad secret', async () => {
    const r = await cli(['simulate', '--url', server.url, '--api-key', API_KEY, '--client-secret', 'd3Jvbmc=', '--probe']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('upgrade rejected: HTTP 401 (check --api-key/--client-secret)');
  });

  function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, [`${outDir}/cli/bench.js`, ...args], { cwd: root, env: { PATH: process.env.PATH ?? '' } }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
      );
    });
  }

  it('runs the benchmark end to end on a tiny size, three engines, and prints one table', async () => {
    // 4 sessions per engine, ~7 s of audio each: long enough for the demo call's first finals.
    const args = ['--engine', 'simulated,google,openai', '--sizes', '4', '--seconds', '5', '--settle', '1', '--file', DEMO, '--json'];
    const r = await bench(args);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const lines = r.stdout.split('\n');
    const header = lines.find((l) => l.startsWith('| sessions'))!.split('|').map((c) => c.trim());
    const cell = (engine: string, name: string): string | undefined => {
      const row = lines.find((l) => new RegExp(`^\\|\\s+4 \\|\\s+${engine} \\|`).test(l));
      return row?.split('|').map((c) => c.trim())[header.indexOf(name)];
    };
    for (const engine of ['simulated', 'google', 'openai']) {
      expect(cell(engine, 'ok/failed'), r.stdout).toBe('4/0');
      expect(cell(engine, 'events lost')).toBe('0');
      expect(cell(engine, 'protocol errors')).toBe('0');
      expect(cell(engine, 'speech end→final p50 / p99')).toMatch(/^\d+\.\d \/ \d+\.\d ms$/);
    }
    expect(cell('google', 'HTTP/2 conns')).toBe('1');
    const rows = JSON.parse(r.stdout.slice(r.stdout.indexOf('\n[') + 1)) as Array<Record<string, number | string>>;
    const google = rows.find((row) => row.engine === 'google')!;
    expect(google.finalLatencySamples).toBeGreaterThan(0);
    expect(google.fakeCpuPercent).toBeGreaterThanOrEqual(0);
    // openai: the VAD buffer sent utterances to the fake OpenAI server, and their finals were timed.
    const openai = rows.find((row) => row.engine === 'openai')!;
    expect(openai.finalLatencySamples).toBeGreaterThan(0);
    expect(openai.fakeRequests).toBeGreaterThan(0);
    expect(openai.fakeCpuPercent).toBeGreaterThanOrEqual(0);
  }, 90_000);

  it.skipIf(!existsSync('/usr/bin/pocketsphinx_batch'))('runs the local mode on one call and prints its own table', async () => {
    // One call, an 8 s window: the demo call's first utterance is decoded in it.
    const r = await bench(['--engine', 'local', '--local-calls', '1', '--seconds', '8', '--settle', '1', '--file', DEMO, '--json']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^\| calls \| ok\/failed \|/m);
    const { local } = JSON.parse(r.stdout.slice(r.stdout.indexOf('\n{') + 1)) as { local: Array<Record<string, number>> };
    expect(local).toHaveLength(1);
    const row = local[0]!;
    expect([row.ok, row.failed, row.eventsLost, row.lostUtterances]).toEqual([1, 0, 0, 0]);
    expect(row.recognizerProcesses).toBeGreaterThan(0);
    expect(row.realTimeFactor).toBeGreaterThan(0);
    expect(row.finals).toBeGreaterThan(0);
    expect(row.latencyP50Ms).toBeGreaterThan(0);
  }, 30_000);

  it('exits 2 on an unknown command or option', async () => {
    expect((await cli(['simulat'])).code).toBe(2);
    const r = await cli(['simulate', '--nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Unknown option '--nope'");
  });
});
