#!/usr/bin/env node
// Runs before `npm start`, `npm run simulate` and the benches: installs and builds only what is
// missing, so that
//  - a fresh clone installs everything and builds, also under NODE_ENV=production (whose default
//    omit=dev would leave no TypeScript to build with, and prune what `npm test` needs);
//  - a built checkout or image (dist/ newer than src/, or no src/ at all) whose node_modules holds
//    the runtime packages starts with no npm install, no compiler and no network;
//  - edited sources are rebuilt.
//
//   node scripts/ensure-built.mjs [--engine | --build-only]
//   --engine      then the offline speech engine (scripts/install-offline-engine.sh). It may
//                 apt-get in development, or in production when this run had to install anyway
//                 (a fresh clone); a production start that was already built only reports it
//                 missing (images install it when they are built). AUDIOHOOK_SKIP_SYSTEM_PACKAGES=1
//                 or npm's --offline: report only, always.
//   --build-only  (the prepare script, run by `npm install`) build if stale; never installs, and
//                 skips with a note when devDependencies were omitted.
// package.json runs it only where it exists: the Docker image holds dist/, node_modules/ and
// package*.json, not scripts/, and there `npm start` just starts.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

process.chdir(fileURLToPath(new URL('..', import.meta.url)));
const production = process.env.NODE_ENV === 'production';
const output = 'dist/server/main.js';
const say = (message) => console.error(`ensure-built: ${message}`);
const run = (command) => spawnSync(command, { shell: true, stdio: 'inherit' }).status === 0;
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

// Newest change to what the build reads; directories count too (deleting a file changes its
// directory). package-lock.json is left out: `npm prune` rewrites it unchanged.
const newest = (path) => {
  const s = statSync(path);
  return s.isDirectory() ? Math.max(s.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name)))) : s.mtimeMs;
};
const hasSources = existsSync('src') && existsSync('tsconfig.build.json');
const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json'].filter((path) => existsSync(path));
const stale = () => hasSources && (!existsSync(output) || Math.max(...inputs.map(newest)) > statSync(output).mtimeMs);

// node_modules holds every package package-lock.json lists, at its version: devDependencies only
// when wanted, optional ones (platform binaries, bufferutil) never required. Without a lock, the
// names in package.json.
function installed(withDev) {
  const lock = existsSync('package-lock.json') ? readJson('package-lock.json').packages : undefined;
  const pkg = readJson('package.json');
  const wanted = lock
    ? Object.entries(lock).filter(([path, p]) => path && !p.optional && !p.devOptional && !p.link && (withDev || !p.dev))
    : Object.keys({ ...pkg.dependencies, ...(withDev ? pkg.devDependencies : {}) }).map((name) => [`node_modules/${name}`, {}]);
  return wanted.every(([path, p]) => {
    try {
      return !p.version || readJson(`${path}/package.json`).version === p.version;
    } catch {
      return false;
    }
  });
}

function build() {
  say(`building (sources newer than ${output})`);
  if (run('npm run build --silent')) return;
  // tsc writes its output even on type errors: age it, so the next start builds again rather than runs it.
  if (existsSync(output)) utimesSync(output, 0, 0);
  process.exit(1);
}

if (process.argv.includes('--build-only')) {
  if (stale() && existsSync('node_modules/typescript')) build();
  else if (stale()) say('not built: devDependencies (TypeScript) not installed; `npm start` installs them and builds');
  process.exit(0);
}

let didInstall = false;
// Development wants the devDependencies too (tests, rebuilds); production only to build.
if (!installed(!production || stale())) {
  say('installing npm packages (node_modules does not match package-lock.json)');
  // `setup` passes --include=dev, which overrides NODE_ENV=production's omit=dev.
  if (!run('npm run setup --silent')) process.exit(1);
  didInstall = true;
}
if (stale()) build(); // the install's prepare usually built already
if (!existsSync(output)) {
  say(`${output} is missing and there is no src/ to build it from`);
  process.exit(1);
}
if (process.argv.includes('--engine')) run(`sh scripts/install-offline-engine.sh${production && !didInstall ? ' --check' : ''}`);
