/**
 * `npm start` as a new user and as a platform run it, in a fresh copy of the working tree: a real
 * npm install (from the machine's npm cache) and a real build: about 25 s on two cores. Needs git
 * (a source tree without .git skips it).
 *  1. a fresh clone, NODE_ENV=production: installs devDependencies too, builds, starts, stops on SIGTERM
 *     with 0, and leaves the checkout ready for `npm test` (it used to fail with `tsc: not found`);
 *  2. development: an already-built checkout does nothing; an edited source is rebuilt;
 *  3. built, then devDependencies pruned, NODE_ENV=production with npm offline and no tsc: starts
 *     with no install and no build;
 *  4. what the Docker image holds (no src/, no scripts/): starts.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
let copy = '';
const main = () => join(copy, 'dist/server/main.js');
const typescript = () => join(copy, 'node_modules/typescript');

// A user's shell: no npm_* variables from an npm that may be running vitest, and no node_modules/.bin
// on PATH (no tsc but the copy's own, which npm adds while it is installed).
const PATH = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((dir) => !/node_modules[\\/]\.bin[\\/]?$/.test(dir))
  .join(delimiter);
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH,
    HOME: process.env.HOME ?? '',
    ...(process.env.npm_config_cache ? { npm_config_cache: process.env.npm_config_cache } : {}),
    // Packages come from the machine's cache where it has them; no audit, fund or update checks.
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    // No apt-get from a test (the offline engine is not what is tested here).
    AUDIOHOOK_SKIP_SYSTEM_PACKAGES: '1',
    NODE_ENV: 'production',
    GENESYS_API_KEY: 'production-start-test-key',
    DEFAULT_SPEECH_PROVIDER: 'simulated',
    HOST: '127.0.0.1',
    PORT: '0', // the 'listening' line says which
    WEB_CONCURRENCY: '1', // one process: what is tested is how it is installed, built and started
    ...extra,
  };
}

function makeCopy(): void {
  // Node and npm look for node_modules (npm for node_modules/.bin/tsc too) in every ancestor folder:
  // the copy goes where none has one, or a stray /tmp/node_modules would supply packages and tsc.
  const base = [tmpdir(), '/var/tmp', homedir()].find((dir) => {
    for (let d = dir; ; d = dirname(d)) {
      if (existsSync(join(d, 'node_modules'))) return false;
      if (d === dirname(d)) return existsSync(dir);
    }
  });
  if (!base) throw new Error('every candidate temporary folder has a node_modules in an ancestor');
  copy = mkdtempSync(join(base, 'audiohook-fresh-clone-'));
  // What a clone would hold, with the working tree's uncommitted changes: tracked and new (not
  // ignored) files as they are now; no node_modules, no dist.
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root })
    .toString()
    .split('\0')
    .filter((file) => file && existsSync(join(root, file)) && statSync(join(root, file)).isFile());
  for (const file of new Set(files)) {
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    copyFileSync(join(root, file), join(copy, file));
  }
}

/** The promise's value, or `fallback` once `ms` have passed. */
function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))]).finally(() => clearTimeout(timer));
}

/** `npm start` in the copy until the server listens, answers /health, and is stopped with SIGTERM. */
async function startAndStop(extraEnv: Record<string, string>, listenWithinMs: number): Promise<{ code: number | string | null; output: string }> {
  const started = Date.now();
  // Its own process group, so that whatever is left after a failure can be killed with it.
  const npm = spawn('npm', ['start'], { cwd: copy, env: env(extraEnv), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | string | null>((resolve) => npm.on('exit', (code, signal) => resolve(code ?? signal)));
  try {
    const listening = new Promise<number>((resolve, reject) => {
      npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      npm.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        for (const line of output.split('\n')) {
          const entry: { port?: number } = /^\{.*"msg":"listening".*\}$/.test(line) ? JSON.parse(line) : {};
          if (entry.port) resolve(entry.port);
        }
      });
      void exited.then((code) => reject(new Error(`npm start exited (${code}) before listening:\n${output}`)));
    });
    // Deadlines shorter than the test's, so that the process group is always killed below.
    const port = await within(listening, listenWithinMs, 0);
    if (!port) throw new Error(`npm start not listening after ${listenWithinMs} ms:\n${output}`);
    console.info(`npm start listening after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    // As a platform stops it: SIGTERM to npm, which hands it to the server.
    npm.kill('SIGTERM');
    return { code: await within(exited, 20_000, 'still running 20 s after SIGTERM'), output };
  } finally {
    try {
      process.kill(-npm.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

describe.skipIf(!existsSync(join(root, '.git')))('npm start', () => {
  beforeAll(makeCopy);
  afterAll(() => copy && rmSync(copy, { recursive: true, force: true }));

  it('on a fresh clone with NODE_ENV=production: installs, builds, starts, stops with 0, keeps devDependencies', async () => {
    const { code, output } = await startAndStop({}, 180_000);
    expect(code, output).toBe(0);
    expect(output).toMatch(/"msg":"shutting down/);
    expect(existsSync(main())).toBe(true);
    expect(existsSync(typescript()), 'devDependencies pruned: npm test would break').toBe(true);
  }, 240_000);

  it('in development: does nothing once built, rebuilds after a source is edited', () => {
    const ensure = (): string => {
      const r = spawnSync(process.execPath, ['scripts/ensure-built.mjs'], { cwd: copy, env: env({ NODE_ENV: 'development' }), encoding: 'utf8' });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      return r.stdout + r.stderr;
    };
    expect(ensure()).toBe('');
    const built = statSync(main()).mtimeMs;
    const now = new Date(); // some seconds after the build, in the first test
    utimesSync(join(copy, 'src/server/main.ts'), now, now);
    expect(ensure()).toMatch(/building/);
    expect(statSync(main()).mtimeMs).toBeGreaterThan(built);
    expect(ensure()).toBe('');
  }, 120_000);

  it('built, then devDependencies pruned: NODE_ENV=production starts offline with no install and no build', async () => {
    const prune = spawnSync('npm', ['prune', '--omit=dev'], { cwd: copy, env: env({ npm_config_offline: 'true' }), encoding: 'utf8' });
    expect(prune.status, prune.stderr).toBe(0);
    expect(existsSync(typescript())).toBe(false);
    expect(spawnSync('sh', ['-c', 'command -v tsc'], { env: env() }).status, 'a tsc on PATH').not.toBe(0);
    const built = statSync(main()).mtimeMs;

    const { code, output } = await startAndStop({ npm_config_offline: 'true' }, 60_000);
    expect(code, output).toBe(0);
    expect(output).not.toMatch(/ensure-built: (installing|building)/);
    expect(existsSync(typescript()), 'reinstalled devDependencies').toBe(false);
    expect(statSync(main()).mtimeMs).toBe(built);
  }, 120_000);

  it('in an image as the Dockerfile builds it (package*.json, node_modules/, dist/ only): starts', async () => {
    for (const entry of readdirSync(copy)) {
      if (!['package.json', 'package-lock.json', 'node_modules', 'dist'].includes(entry)) rmSync(join(copy, entry), { recursive: true });
    }
    const { code, output } = await startAndStop({ npm_config_offline: 'true' }, 30_000);
    expect(code, output).toBe(0);
  }, 60_000);
});
