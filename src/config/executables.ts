/** Programs the server runs (pocketsphinx, flite), looked up at start-up so a missing one is a clear reason, not a failed call. */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** `name` as the shell would find it on PATH (a path with a slash is taken as it is). */
export function findExecutable(name: string, path = process.env['PATH'] ?? ''): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  for (const dir of path.split(delimiter)) {
    if (dir !== '' && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}
