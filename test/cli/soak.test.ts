/**
 * `npm run soak`: the growth and leftover checks and the SVG on synthetic series, then the built
 * CLI end to end on a tiny size (20 sessions, a sample every 2 s, ~7 s of load).
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { crossCheck, growthCheck, leftoverChecks, rssGrowth, soakTable, warmupSeconds } from '../../src/cli/soak/checks.js';
import { sampleTimes } from '../../src/cli/soak/run.js';
import type { SoakSample } from '../../src/cli/soak/sample.js';
import { SERIES_IDS, soakSvg } from '../../src/cli/soak/svg.js';
import { DEMO } from './helpers.js';

const MiB = 1024 * 1024;

function sample(t: number, rssMiB: number, over: Partial<SoakSample> = {}): SoakSample {
  return {
    phase: 'load',
    t,
    sessions: 500,
    streaming: 500,
    rssBytes: rssMiB * MiB,
    heapUsedBytes: (rssMiB / 3) * MiB,
    activeResources: 505,
    timers: 1,
    openFds: 523,
    loopP99Ms: 11,
    loopMaxMs: 20,
    cpuPercent: 40,
    procRssBytes: rssMiB * MiB + 100_000,
    procFds: 521,
    ...over,
  };
}

/** 30 minutes sampled every minute: `rss(t)` MiB at each. */
const series = (rss: (t: number) => number): SoakSample[] => sampleTimes(1800, 60).map((t) => sample(t, rss(t)));

/**
 * Well-formedness without a parser dependency: every tag matched and nested, attributes quoted
 * and unique, no bare `<` or `&` in text or attribute values, one root. Returns the problem.
 */
function xmlProblem(xml: string): string | undefined {
  const stack: string[] = [];
  let roots = 0;
  let at = 0;
  const text = (s: string): string | undefined => (/[<]|&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(s) ? `bad text ${JSON.stringify(s.slice(0, 40))}` : undefined);
  for (const m of xml.matchAll(/<[^<>]*>/g)) {
    const bad = text(xml.slice(at, m.index));
    if (bad) return bad;
    at = m.index + m[0].length;
    const tag = /^<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*="[^"]*")*)\s*(\/?)>$/.exec(m[0]);
    if (!tag) return `malformed tag ${m[0].slice(0, 60)}`;
    const [, close, name, attrs = '', selfClosing] = tag;
    const names = [...attrs.matchAll(/([\w:.-]+)="([^"]*)"/g)].map((a) => {
      if (text(a[2]!)) throw new Error(`bad attribute value in ${m[0]}`);
      return a[1];
    });
    if (new Set(names).size !== names.length) return `repeated attribute in ${m[0]}`;
    if (close) {
      if (stack.pop() !== name) return `</${name}> closes nothing open`;
    } else {
      if (stack.length === 0) roots += 1;
      if (!selfClosing) stack.push(name!);
    }
  }
  if (xml.slice(at).trim() !== '') return 'text after the root';
  if (stack.length > 0) return `unclosed <${stack.join('>, <')}>`;
  return roots === 1 ? undefined : `${roots} root elements`;
}

function polylines(svg: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of svg.matchAll(/<polyline data-series="([^"]+)"[^>]* points="([^"]*)"/g)) out.set(m[1]!, m[2]!.trim().split(/\s+/).filter(Boolean).length);
  return out;
}

describe('soak checks and chart', () => {
  it('takes warm-up as the first 20 % of the run, at most 5 minutes', () => {
    expect(warmupSeconds(300)).toBe(60);
    expect(warmupSeconds(1800)).toBe(300);
    expect(sampleTimes(10, 4)).toEqual([0, 4, 8, 10]);
    expect(sampleTimes(1800, 60)).toHaveLength(31);
  });

  it('passes a flat series and fails one that grows 10 % after warm-up', () => {
    // Warm-up growth (first 5 minutes) is left out; ±1 % noise after it is fine.
    const flat = series((t) => (t < 300 ? 80 + t / 30 : 90 + (t % 120 === 0 ? 0.9 : -0.5)));
    const ok = growthCheck(flat, warmupSeconds(1800), 5);
    expect(ok.status, ok.detail).toBe('ok');
    expect(rssGrowth(flat, 300)!.baseline.t).toBe(300);

    const leaking = series((t) => (t < 300 ? 90 : 90 * (1 + (0.1 * (t - 300)) / 1500)));
    const g = rssGrowth(leaking, 300)!;
    expect(g.percent).toBeCloseTo(10, 5);
    expect(g.fitPercent).toBeCloseTo(10, 5);
    const bad = growthCheck(leaking, 300, 5);
    expect(bad.status).toBe('FAIL');
    expect(bad.detail).toContain('90.0 MiB at 5:00 → 99.0 MiB at 30:00: +10.0 %');
    // Too few samples after warm-up cannot pass.
    expect(growthCheck([sample(0, 90), sample(600, 90)], 300, 5).status).toBe('FAIL');
  });

  it('flags descriptors, timers or handles left after the sessions ended', () => {
    const idle = sample(-30, 60, { phase: 'idle', sessions: 0, streaming: undefined, activeResources: 4, timers: 0, openFds: 22, procFds: 20 });
    const clean = { ...idle, phase: 'ended' as const, t: 1830, rssBytes: 100 * MiB, procRssBytes: 101 * MiB };
    const none = { fds: 0, timers: 0, handles: 0 };
    expect(leftoverChecks(idle, clean, none).map((c) => c.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    const leaky = { ...clean, openFds: 25, procFds: 23, timers: 2, activeResources: 9, sessions: 1 };
    expect(leftoverChecks(idle, leaky, none).map((c) => c.status)).toEqual(['FAIL', 'FAIL', 'FAIL', 'FAIL', 'FAIL']);
    expect(leftoverChecks(idle, leaky, { fds: 3, timers: 2, handles: 5 }).filter((c) => c.status === 'FAIL')).toHaveLength(1);
    expect(leftoverChecks(idle, undefined, none)[0]!.status).toBe('FAIL');
    expect(crossCheck([idle, clean]).status).toBe('ok');
    expect(crossCheck([{ ...clean, procRssBytes: 150 * MiB }]).status).toBe('FAIL');
  });

  it('draws a well-formed SVG with one polyline per series through every sample', () => {
    const samples = series((t) => 90 + t / 1000);
    const svg = soakSvg(samples, { title: 'Soak <test> & "chart"', runSeconds: 1800, warmupSeconds: 300 });
    expect(xmlProblem(svg)).toBeUndefined();
    expect(svg).toContain('Soak &lt;test&gt; &amp; &quot;chart&quot;');
    const lines = polylines(svg);
    expect([...lines.keys()].sort()).toEqual([...SERIES_IDS].sort());
    for (const n of lines.values()) expect(n).toBe(samples.length);
    // The checker itself catches what it should.
    expect(xmlProblem('<svg><g></svg>')).toBeDefined();
    expect(xmlProblem('<svg>a & b</svg>')).toBeDefined();
    expect(soakTable(samples).split('\n')).toHaveLength(samples.length + 2);
  });
});

const root = fileURLToPath(new URL('../..', import.meta.url));
// Under the repository (packages resolve, package.json says ESM), git-ignored, not dist/.
const outDir = `${root}tmp/soak-test-build`;

describe('node dist/cli/soak.js', () => {
  beforeAll(() => {
    // Incremental: a rerun with few changes builds in seconds. Type errors elsewhere still emit.
    spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`, '--outDir', outDir, '--incremental', '--tsBuildInfoFile', `${outDir}/.tsbuildinfo`], { cwd: root });
    if (!existsSync(`${outDir}/cli/soak.js`)) throw new Error(`build produced no ${outDir}/cli/soak.js`);
  }, 90_000);

  const soak = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, [`${outDir}/cli/soak.js`, ...args], { cwd: root, env: { PATH: process.env.PATH ?? '' } }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
      );
    });

  it('soaks 20 sessions for ~7 s, prints the series and the checks, and writes the chart', async () => {
    const out = mkdtempSync(join(tmpdir(), 'soak-'));
    // Seven seconds are all garbage-collector swing, no trend: the 5 % limit is the unit tests' business.
    const args = ['--sessions', '20', '--rate', '40', '--minutes', '0.12', '--sample-seconds', '2', '--settle', '0.5', '--max-growth', '50', '--file', DEMO, '--out', out];
    const r = await soak(args);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => /^\|\s+(idle |ended )?-?\d+:\d\d \|/.test(l));
    // idle, 0:00 0:02 0:04 0:06 0:07, ended
    expect(rows.map((l) => l.split('|')[1]!.trim().replace(/ -?\d+:\d\d$/, ''))).toEqual(['idle', '0:00', '0:02', '0:04', '0:06', '0:07', 'ended']);
    for (const row of rows.slice(1, -1)) expect(row.split('|').map((c) => c.trim()).slice(2, 4)).toEqual(['20', '20']);
    expect(r.stdout).toMatch(/^Checks:$/m);
    for (const check of ['all 20 sessions streamed throughout', 'RSS growth after warm-up < 50 %', 'open fds (/stats) back to idle', 'timers back to idle', 'active handles/resources back to idle']) {
      expect(r.stdout).toMatch(new RegExp(`^  ok\\s+${check.replace(/[()/]/g, '\\$&')}`, 'm'));
    }
    expect(r.stdout).toMatch(/RSS growth after warm-up < 50 %: [\d.]+ MiB at 0:02 → [\d.]+ MiB at 0:07: [-+][\d.]+ %/);
    expect(r.stdout).toContain('soak passed');
    const chart = /^chart: (\S+\.svg)/m.exec(r.stdout)?.[1];
    expect(chart).toBeDefined();
    const svg = readFileSync(resolve(root, chart!), 'utf8');
    expect(xmlProblem(svg)).toBeUndefined();
    const lines = polylines(svg);
    expect([...lines.keys()].sort()).toEqual([...SERIES_IDS].sort());
    for (const n of lines.values()) expect(n).toBe(rows.length);
    const json = JSON.parse(readFileSync(resolve(root, chart!.replace(/\.svg$/, '.json')), 'utf8')) as { samples: unknown[] };
    expect(json.samples).toHaveLength(rows.length);
    rmSync(out, { recursive: true, force: true });
  }, 60_000);

  it('exits 2 when the samples could not show growth after warm-up', async () => {
    const r = await soak(['--minutes', '1', '--sample-seconds', '60']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('fewer than two samples after the 0:12 warm-up');
  });
});
