/**
 * The Docker build context as Docker computes it from .dockerignore, and a Dockerfile read into
 * stages and instructions — enough to check the image's build without a Docker engine.
 *
 * The matcher follows Docker's (moby/patternmatcher, as BuildKit uses it), not git's: patterns
 * are paths from the context root (a leading / is dropped, `./` and `..` cleaned), `*` and `?`
 * stop at `/`, `**` spans directories, a path is excluded when it or one of its parent
 * directories matches, and the last matching line wins, `!` lines taking back an exclusion.
 */
import { posix } from 'node:path';

interface Pattern {
  exclusion: boolean;
  regex: RegExp;
}

export class DockerIgnore {
  private readonly patterns: Pattern[];

  constructor(text: string) {
    this.patterns = [];
    for (const raw of text.split(/\r?\n/)) {
      let line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const exclusion = line.startsWith('!');
      if (exclusion) line = line.slice(1).trim();
      if (line === '') continue;
      line = posix.normalize(line);
      if (line.length > 1 && line.startsWith('/')) line = line.slice(1);
      if (line.length > 1 && line.endsWith('/')) line = line.slice(0, -1);
      this.patterns.push({ exclusion, regex: compile(line) });
    }
  }

  /** Whether the context leaves out this path (relative to the context root, `/`-separated). */
  ignores(path: string): boolean {
    const file = posix.normalize(path).replace(/\/$/, '');
    const parents = posix.dirname(file) === '.' ? [] : posix.dirname(file).split('/');
    let matched = false;
    for (const p of this.patterns) {
      if (p.exclusion !== matched) continue; // only an exclusion can change a match, only an inclusion a miss
      let match = p.regex.test(file);
      for (let i = 0; !match && i < parents.length; i++) match = p.regex.test(parents.slice(0, i + 1).join('/'));
      if (match) matched = !p.exclusion;
    }
    return matched;
  }
}

function compile(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        i += 1;
        if (pattern[i + 1] === '/') i += 1; // `**/` is `**`
        re += i + 1 >= pattern.length ? '.*' : '(.*/)?';
      } else re += '[^/]*';
    } else if (ch === '?') re += '[^/]';
    else if (ch === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else if (ch === '[') {
      const end = pattern.indexOf(']', i);
      re += end === -1 ? '\\[' : pattern.slice(i, end + 1).replace(/^\[!/, '[^');
      if (end !== -1) i = end;
    } else re += /[.+()|{}^$]/.test(ch) ? `\\${ch}` : ch;
  }
  return new RegExp(`${re}$`);
}

export interface Instruction {
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  args: string;
  /** Line number (1-based) where it starts. */
  line: number;
}

export interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** The Dockerfile's stages, each with its instructions (FROM itself excluded). */
export function parseDockerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i]!;
    if (first.trim() === '' || first.trim().startsWith('#')) continue;
    const start = i;
    let joined = first;
    while (/\\\s*$/.test(joined) && i + 1 < lines.length) {
      joined = joined.replace(/\\\s*$/, ' ');
      i += 1;
      const next = lines[i]!;
      if (next.trim().startsWith('#')) continue; // comment lines inside a continuation are dropped
      joined += next;
    }
    const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(joined);
    if (m) instructions.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start + 1 });
  }
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const as = words.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({ image: words[0]!, name: as === -1 ? undefined : words[as + 1], instructions: [] });
    } else stages.at(-1)?.instructions.push(ins);
  }
  return stages;
}

export interface Copy {
  from: string | undefined;
  sources: string[];
  dest: string;
}

/** A COPY or ADD: its --from stage (if any), sources and destination (shell or JSON form). */
export function parseCopy(args: string): Copy {
  let rest = args;
  let from: string | undefined;
  for (;;) {
    const flag = /^--([a-z-]+)(?:=(\S+))?\s+/.exec(rest);
    if (!flag) break;
    if (flag[1] === 'from') from = flag[2];
    rest = rest.slice(flag[0].length);
  }
  const parts = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
  return { from, sources: parts.slice(0, -1), dest: parts.at(-1)! };
}

/** The JSON (exec) form of CMD, ENTRYPOINT or HEALTHCHECK's CMD, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  const json = args.slice(args.indexOf('['));
  if (!json.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(json);
    return Array.isArray(parsed) && parsed.every((p) => typeof p === 'string') ? (parsed as string[]) : undefined;
  } catch {
    return undefined;
  }
}

/** ENV's key=value pairs (the `ENV key value` form gives one pair). */
export function parseEnv(args: string): Record<string, string> {
  const env: Record<string, string> = {};
  const pairs = [...args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)];
  if (pairs.length === 0) {
    const [key, ...value] = args.split(/\s+/);
    if (key) env[key] = value.join(' ');
    return env;
  }
  for (const m of pairs) env[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
  return env;
}
