/**
 * One warm `pocketsphinx_batch` process that decodes utterances one after another.
 *
 * Batch mode, not `pocketsphinx_continuous`: it decodes exactly the audio it is given as one
 * utterance (our VAD already cut it), normalizes each utterance on itself (`-cmn batch`, so one
 * caller's audio never conditions the next one's), and reads a control file line by line, so
 * the model is loaded once. Everything goes through named pipes in a private directory: Node's
 * stdio are sockets, which the program cannot `fopen`, and a FIFO holds no audio on disk.
 *   ctl        one line per utterance: `audio 0 <end frame> <uttid>`      (we write, it reads)
 *   audio.raw  the utterance, 16 kHz PCM16; our closing it ends the utterance
 *   out        `-hyp` and `-ctm` lines (see parse.ts)                     (it writes, we read)
 */
import { execFile, spawn } from 'node:child_process';
import { close, constants, open, promises as fs, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { EngineError } from '../types.js';
import type { LocalEngineOptions } from './options.js';
import { parseDecoderLine, type DecoderLine } from './parse.js';

type WordLine = Extract<DecoderLine, { kind: 'word' }>;

export interface Decoder {
  /** Decodes one utterance of 16 kHz PCM16; one call at a time. */
  decode(pcm16k: Int16Array, timeoutMs: number): Promise<WordLine[]>;
  /** False once the process has exited or was killed: the pool then replaces it. */
  readonly alive: boolean;
  /** Ends the process; resolves once its pipes and directory are gone. */
  kill(): Promise<void>;
}

/** Stderr lines kept for the log when the process dies (errors only: info lines echo transcripts). */
const STDERR_TAIL_LINES = 8;
/** 16 kHz at pocketsphinx's 100 frames per second. */
const SAMPLES_PER_FRAME = 160;

const run = promisify(execFile);
// Plain descriptors, not FileHandles: sockets take them over, and a FileHandle closes its fd when collected.
const openFd = promisify(open);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function crashed(message: string, cause?: unknown): EngineError {
  return new EngineError(message, 'internal', true, cause === undefined ? undefined : { cause });
}

/** Calls `onLine` for each complete line arriving on `stream`. */
function forEachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
}

export function spawnDecoder(options: LocalEngineOptions, log: Logger): Decoder {
  let alive = true;
  let uttSeq = 0;
  let pending: { uttId: string; expected?: number; words: WordLine[]; settle(error?: Error): void } | undefined;
  const stderrTail: string[] = [];
  let dir: string | undefined;
  let ctlFd: number | undefined;
  let out: Socket | undefined;
  let child: ReturnType<typeof spawn> | undefined;

  /** Ends the process (if any) and releases the pipes; the pending utterance fails with `error`. */
  function die(error: EngineError, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!alive) return released;
    alive = false;
    child?.kill(signal);
    pending?.settle(error);
    pending = undefined;
    return releasePipes();
  }

  let released: Promise<void> = Promise.resolve();
  function releasePipes(): Promise<void> {
    out?.destroy();
    if (ctlFd !== undefined) close(ctlFd, () => undefined);
    ctlFd = undefined;
    if (dir) released = fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    dir = undefined;
    return released;
  }

  function onOutputLine(line: string): void {
    const parsed = parseDecoderLine(line);
    if (!pending || !parsed || parsed.uttId !== pending.uttId) return; // stale or chatter
    if (parsed.kind === 'hyp') pending.expected = parsed.wordCount;
    else pending.words.push(parsed);
    if (pending.expected !== undefined && pending.words.length >= pending.expected) pending.settle();
  }

  async function start(): Promise<void> {
    dir = await fs.mkdtemp(join(tmpdir(), 'pocketsphinx-'));
    const paths = { ctl: join(dir, 'ctl'), audio: join(dir, 'audio.raw'), out: join(dir, 'out') };
    await run('mkfifo', ['-m', '600', paths.ctl, paths.audio, paths.out]);
    // Read-write opens never block and never see EOF: the process's own opens then return at
    // once, and its death is learnt from `exit`, not from the pipes.
    ctlFd = await openFd(paths.ctl, constants.O_RDWR | constants.O_NONBLOCK);
    out = new Socket({ fd: await openFd(paths.out, constants.O_RDWR | constants.O_NONBLOCK), readable: true, writable: false });
    if (!alive) return void (await releasePipes()); // closed while starting
    out.on('error', (err) => die(crashed('offline recognizer output failed', err)));
    out.unref(); // an idle pool must not keep the process alive; a pending decode's timer does
    forEachLine(out, onOutputLine);
    child = spawn(
      options.binary,
      [
        '-ctl', paths.ctl, '-adcin', 'yes', '-cepdir', dir, '-cepext', '.raw', '-samprate', '16000',
        '-hyp', paths.out, '-ctm', paths.out,
        '-hmm', options.acousticModel, '-lm', options.languageModel, '-dict', options.dictionary,
        // Its VAD drops silent frames and word times would skip them: ours already trimmed the audio.
        '-remove_silence', 'no',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.unref();
    (child.stderr as Socket).unref();
    forEachLine(child.stderr as NodeJS.ReadableStream, (line) => {
      if (!/^(ERROR|FATAL|WARN|SYSTEM)/.test(line)) return;
      stderrTail.push(line.slice(0, 300));
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    });
    child.on('error', (err) => {
      log.error({ err, binary: options.binary }, 'offline recognizer: cannot start pocketsphinx');
      die(crashed('offline recognizer failed to start', err));
    });
    child.on('exit', (code, signal) => {
      if (!alive) return; // we killed it
      log.warn({ code, signal, stderrTail }, 'offline recognizer: pocketsphinx exited');
      die(crashed('offline recognizer exited'));
    });
  }

  const started = start().catch((err: unknown) => {
    if (!alive) return releasePipes(); // closed while starting: whatever failed no longer matters
    log.error({ err }, 'offline recognizer: cannot prepare pocketsphinx');
    die(crashed('offline recognizer failed to start', err));
  });

  /** The audio FIFO opens for writing only once the process has opened it for reading. */
  async function openAudio(path: string, deadline: number): Promise<number> {
    for (let wait = 1; ; wait = Math.min(wait * 2, 20)) {
      if (!alive) throw crashed('offline recognizer exited');
      try {
        return await openFd(path, constants.O_WRONLY | constants.O_NONBLOCK);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err;
      }
      if (Date.now() > deadline) throw crashed('offline recognizer timed out');
      await sleep(wait);
    }
  }

  async function decode(pcm16k: Int16Array, timeoutMs: number): Promise<WordLine[]> {
    await started;
    if (!alive || !dir || ctlFd === undefined) throw crashed('offline recognizer exited');
    if (pending) throw new Error('decoder busy'); // the pool hands a decoder to one caller at a time
    const uttId = `u${++uttSeq}`;
    const result = new Promise<WordLine[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        log.warn({ timeoutMs, stderrTail }, 'offline recognizer: no result in time, killing pocketsphinx');
        die(crashed('offline recognizer timed out'));
      }, timeoutMs);
      const entry = {
        uttId,
        words: [] as WordLine[],
        settle(error?: Error) {
          clearTimeout(timer);
          if (pending === entry) pending = undefined;
          if (error) reject(error);
          else resolve(entry.words);
        },
      };
      pending = entry;
    });
    result.catch(() => undefined); // it may fail while the audio is still being written: handled below
    try {
      // An end frame makes it read the whole utterance, then decode it in one go. Without one it
      // decodes a pipe as a live stream, block by block: in our tests that recognized far less,
      // and the result depended on the utterances decoded before.
      writeSync(ctlFd, `audio 0 ${Math.ceil(pcm16k.length / SAMPLES_PER_FRAME) + 1} ${uttId}\n`);
      const audioFd = await openAudio(join(dir, 'audio.raw'), Date.now() + timeoutMs);
      const audio = new Socket({ fd: audioFd, readable: false, writable: true });
      // EPIPE when the process dies mid-utterance: `exit` reports that.
      audio.on('error', () => audio.destroy());
      // Closing the write end is what ends the utterance for the reader.
      audio.write(new Uint8Array(pcm16k.buffer, pcm16k.byteOffset, pcm16k.byteLength), () => audio.destroy());
    } catch (err) {
      void die(err instanceof EngineError ? err : crashed('offline recognizer input failed', err));
    }
    return result;
  }

  return {
    decode,
    get alive() {
      return alive;
    },
    async kill() {
      await die(crashed('offline recognizer closed'), 'SIGTERM');
      await started; // a start in progress cleans up after itself
      await released;
    },
  };
}
