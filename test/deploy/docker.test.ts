/** The Dockerfile and its build context (.dockerignore), read as Docker would, without an engine. */
import { readdirSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { DockerIgnore, execForm, parseCopy, parseDockerfile, parseEnv, type Stage } from './docker-context.js';
import { exists, read, ROOT } from './helpers.js';

describe('the .dockerignore matcher (Docker semantics)', () => {
  it('matches from the context root, and a directory pattern takes everything under it', () => {
    const m = new DockerIgnore('node_modules\n/dist/\n*.log');
    expect(m.ignores('node_modules')).toBe(true);
    expect(m.ignores('node_modules/ws/index.js')).toBe(true);
    expect(m.ignores('src/node_modules/x.js')).toBe(false);
    expect(m.ignores('dist/server/main.js')).toBe(true);
    expect(m.ignores('server.log')).toBe(true);
    expect(m.ignores('logs/server.log')).toBe(false); // `*` stops at `/`
  });

  it('lets a later ! line take back an exclusion, and the last match wins', () => {
    const m = new DockerIgnore('*\n!src\n!package.json\nsrc/secret.ts');
    expect(m.ignores('README.md')).toBe(true);
    expect(m.ignores('.git/HEAD')).toBe(true);
    expect(m.ignores('package.json')).toBe(false);
    expect(m.ignores('src/server/main.ts')).toBe(false);
    expect(m.ignores('src/secret.ts')).toBe(true);
  });

  it('takes ** for any number of directories', () => {
    const m = new DockerIgnore('**/.env\ndocs/**/*.png');
    expect(m.ignores('.env')).toBe(true);
    expect(m.ignores('src/config/.env')).toBe(true);
    expect(m.ignores('.env.example')).toBe(false);
    expect(m.ignores('docs/a.png')).toBe(true);
    expect(m.ignores('docs/x/y/a.png')).toBe(true);
    expect(m.ignores('a.png')).toBe(false);
  });
});

const ignore = new DockerIgnore(read('.dockerignore'));
const stages = parseDockerfile(read('Dockerfile'));
const runtime = stages.at(-1)!;

function instructions(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

function filesUnder(dir: string): string[] {
  return readdirSync(`${ROOT}${dir}`).flatMap((name) => {
    const path = `${dir}/${name}`;
    return statSync(`${ROOT}${path}`).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('the Docker build context', () => {
  it('leaves out dependencies, build output, git, secrets, tests and scratch files', () => {
    for (const path of ['node_modules', 'node_modules/ws/package.json', 'dist/server/main.js', '.git/HEAD', '.env', '.env.production', 'test/deploy/helpers.ts', 'tmp/bench.out', 'coverage/index.html', 'profile.cpuprofile', 'src/server/.env']) {
      expect(ignore.ignores(path), path).toBe(true);
    }
  });

  it('holds what the build needs', () => {
    for (const path of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src/server/main.ts']) {
      expect(ignore.ignores(path), path).toBe(false);
    }
    const sources = filesUnder('src');
    expect(sources.length).toBeGreaterThan(20);
    expect(sources.filter((f) => ignore.ignores(f))).toEqual([]);
    // tsconfig.build.json extends another config, which must come along.
    const base = (JSON.parse(read('tsconfig.build.json')) as { extends?: string }).extends;
    expect(base).toBeDefined();
    expect(ignore.ignores(base!.replace(/^\.\//, ''))).toBe(false);
  });

  it('holds nothing else at the top level', () => {
    const included = readdirSync(ROOT).filter((name) => !ignore.ignores(name));
    expect(included.sort()).toEqual(['package-lock.json', 'package.json', 'src', 'tsconfig.build.json', 'tsconfig.json']);
  });
});

describe('Dockerfile', () => {
  it('builds in one stage and runs from another, on the same Node image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(new Set(stages.map((s) => s.image))).toEqual(new Set(['node:20-bookworm-slim']));
    expect(runtime.name).not.toBe(stages[0]!.name);
  });

  it('copies from the context only files that exist and that the context holds', () => {
    const copies = stages.flatMap((s) => [...instructions(s, 'COPY'), ...instructions(s, 'ADD')].map(parseCopy)).filter((c) => c.from === undefined);
    expect(copies.length).toBeGreaterThan(0);
    for (const source of copies.flatMap((c) => c.sources)) {
      expect(exists(source), source).toBe(true);
      expect(ignore.ignores(source.replace(/^\.\//, '').replace(/\/$/, '')), source).toBe(false);
    }
  });

  it('installs with dev dependencies, builds, and prunes them in the build stage', () => {
    const run = stages.slice(0, -1).flatMap((s) => instructions(s, 'RUN')).join('\n');
    expect(run).toMatch(/\bnpm ci\b/);
    expect(run).not.toMatch(/npm ci[^\n]*--omit=dev/);
    expect(run).toMatch(/\bnpm run build\b/);
    expect(run).toMatch(/\bnpm prune --omit=dev\b/);
    expect(run.indexOf('npm run build')).toBeLessThan(run.indexOf('npm prune'));
  });

  it('runtime: installs the offline engine with apt-get and no npm, copies only the built app', () => {
    const run = instructions(runtime, 'RUN').join('\n');
    expect(run).toMatch(/apt-get install[^\n]*--no-install-recommends/);
    expect(run).toMatch(/\bpocketsphinx\b/);
    expect(run).toMatch(/\bpocketsphinx-en-us\b/);
    expect(run).toMatch(/\bflite\b/); // voice bots' offline speech synthesis
    expect(run).toMatch(/rm -rf \/var\/lib\/apt\/lists/);
    expect(run).not.toMatch(/\bnpm\b/);
    const copies = instructions(runtime, 'COPY').map(parseCopy);
    expect(copies.every((c) => c.from === stages[0]!.name)).toBe(true);
    const copied = copies.flatMap((c) => c.sources.map((s) => s.replace(/^\/app\//, '')));
    expect(copied.sort()).toEqual(['dist', 'node_modules', 'package-lock.json', 'package.json']);
  });

  it('runtime: runs node on the built server as a user that is not root', () => {
    const users = instructions(runtime, 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    const cmd = execForm(instructions(runtime, 'CMD').at(-1) ?? '');
    expect(cmd).toEqual(['node', 'dist/server/main.js']);
    // An init (tini) may sit in front, in exec form, so SIGTERM reaches node.
    for (const entrypoint of instructions(runtime, 'ENTRYPOINT')) expect(execForm(entrypoint)?.[0]).toMatch(/tini$/);
  });

  it('runtime: production settings, and the exposed port is the one the server listens on', () => {
    const env = Object.assign({}, ...instructions(runtime, 'ENV').map(parseEnv)) as Record<string, string>;
    expect(env['NODE_ENV']).toBe('production');
    expect(instructions(runtime, 'EXPOSE')).toEqual([env['PORT']]);
    expect(env['PORT']).toBe('8080');
    expect(loadConfig({ PORT: env['PORT'] }).port).toBe(8080);
  });

  it('runtime: its health check asks /health on PORT with node itself', () => {
    const check = instructions(runtime, 'HEALTHCHECK');
    expect(check).toHaveLength(1);
    const cmd = execForm(check[0]!);
    expect(cmd?.[0]).toBe('node');
    expect(cmd?.join(' ')).toMatch(/127\.0\.0\.1/);
    expect(cmd?.join(' ')).toMatch(/process\.env\.PORT/);
    expect(cmd?.join(' ')).toMatch(/\/health\b/);
  });
});
