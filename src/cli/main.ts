#!/usr/bin/env node
/** `audiohook-connector <command>`: the Genesys-like command-line client. */
import { USAGE } from './args.js';
import { EXIT_USAGE, simulate } from './simulate.js';
import { voicebot } from './voicebot/command.js';

const [command, ...rest] = process.argv.slice(2);
const out = (line: string): void => void process.stdout.write(`${line}\n`);
const err = (line: string): void => void process.stderr.write(`${line}\n`);

if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
  out(USAGE);
  process.exit(command === undefined ? EXIT_USAGE : 0);
}
if (command !== 'simulate' && command !== 'voicebot') {
  err(`error: unknown command '${command}'\n\n${USAGE}`);
  process.exit(EXIT_USAGE);
}

// First Ctrl-C ends the call cleanly (close → closed); a second one quits at once.
const abort = new AbortController();
process.on('SIGINT', () => {
  if (abort.signal.aborted) process.exit(130);
  err('-- interrupted: closing (Ctrl-C again to quit now)');
  abort.abort();
});

const code = await (command === 'voicebot' ? voicebot : simulate)(rest, { out, err, signal: abort.signal });
// Let stdout drain before exiting (pipes are asynchronous).
process.stdout.write('', () => process.exit(code));
