/** `npm run bench:voicebot` end to end, built and run as users run it, in a tiny configuration. */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
// As subprocess.test.ts: under the repository (so packages resolve), git-ignored, not dist/; a
// folder of its own so the two test files may build at the same time.
const outDir = `${root}tmp/voicebot-bench-test-build`;
const benchJs = `${outDir}/cli/voicebot-bench.js`;
const hasFlite = spawnSync('sh', ['-c', 'command -v flite'], { encoding: 'utf8' }).status === 0;

beforeAll(() => {
  // Type errors elsewhere in the tree still emit JavaScript; only the output matters here.
  spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`, '--outDir', outDir], { cwd: root });
  if (!existsSync(benchJs)) throw new Error(`build produced no ${benchJs}`);
}, 60_000);

function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [benchJs, ...args], { cwd: root, env: { PATH: process.env.PATH ?? '' } }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe('node dist/cli/voicebot-bench.js', () => {
  it.skipIf(!hasFlite)('runs two simulated voice-bot calls against the fake bot and reports the figures', async () => {
    // Two callers 1 s apart, a 15 s window: the greeting (about 9 s) and the first question and
    // answer fall in it; the calls are then hung up.
    const script = `${root}samples/voicebot/demo.json`;
    const r = await bench(['--engine', 'simulated', '--sizes', '2', '--seconds', '15', '--ramp', '1', '--script', script, '--json']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^\| calls \| completed\/cut\/failed \|/m);
    expect(r.stdout).toMatch(/voice-bot sessions per core with simulated recognition \+ flite at p99 ≤ \d+ ms/);

    const json = JSON.parse(r.stdout.slice(r.stdout.indexOf('\n{') + 1)) as {
      rows: Array<Record<string, unknown> & { server: Record<string, { count: number; p50: number; p99: number }>; heard: { count: number; p50: number }; findings: Record<string, number> }>;
      conclusion: { sessionsPerCore: number; p99Ms: number };
    };
    expect(json.rows).toHaveLength(1);
    const row = json.rows[0]!;
    expect(row.calls).toBe(2);
    expect(row.failed).toBe(0);
    expect((row.completed as number) + (row.cut as number)).toBeGreaterThanOrEqual(2);
    expect(row.cpuMsPerSessionSecond).toBeGreaterThan(0);
    expect(row.sessionsPerCore).toBeGreaterThan(0);
    expect(row.serverRssMiB).toBeGreaterThan(0);
    // Each caller asked its first question in the window and heard the answer.
    for (const part of ['total', 'bot', 'synthesis'] as const) {
      expect(row.server[part]!.count, part).toBeGreaterThanOrEqual(2);
      expect(row.server[part]!.p99, part).toBeGreaterThanOrEqual(row.server[part]!.p50);
    }
    expect(row.server.total!.p50).toBeGreaterThan(row.server.bot!.p50);
    expect(row.heard.count).toBeGreaterThanOrEqual(2);
    expect(row.heard.p50).toBeGreaterThan(0);
    expect(row.findings).toMatchObject({ badSize: 0, rateExceeded: 0, leadOver: 0, underruns: 0, other: 0 });
    expect(row.keptUp).toBe(true);
    expect(json.conclusion.sessionsPerCore).toBe(row.sessionsPerCore);
    expect(json.conclusion.p99Ms).toBe(row.server.total!.p99);
  }, 60_000);

  it('refuses an unknown engine with exit code 2', async () => {
    const r = await bench(['--engine', 'google']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--engine: 'google' is not one of local, simulated");
  });
});
