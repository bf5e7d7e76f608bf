/**
 * The call's frame clock: 200 ms frames sent on the stream clock (sped up by `speed`), the
 * client's and the server's pauses, scripted discards, and the script's other actions on their
 * frames. It knows nothing of the socket or the session state: it sends through `send` and
 * `sendFrame`, and the call ticks it only while the session is open.
 *
 * Frame index i is stream position i × 200 ms. The index runs on while paused or discarding (a
 * real call's audio goes on), so `position()` is the stream position the client reports and the
 * gaps it declares are exact multiples of a frame.
 */
import { formatDuration } from '../../protocol/duration.js';
import type { ClientMessageType } from '../../protocol/messages.js';
import { FRAME_SECONDS, type AudioSource } from './audio-source.js';
import { compileScript, type CallScript, type ScriptAction } from './script.js';

export interface PacerOptions {
  /** Frames in one pass of the file; the stream loops over them. */
  fileFrames: number;
  /** Frames the call streams in all (see `framesToStream`). */
  totalFrames: number;
  /** Stream-clock speed-up; 1 = real time. */
  speed: number;
  script: CallScript;
  /** Sends a client message (the call stamps seq, serverseq and position). */
  send(type: ClientMessageType, parameters: object): void;
  sendFrame(frame: Buffer, index: number): void;
  notice(text: string): void;
}

export interface Pacer {
  /**
   * `opened` arrived at `now`: frame 0 is due now (frames before `discardTo` are skipped, as the
   * server asked). `frames` are the wire frames of the chosen media; none when it chose no audio.
   */
  start(now: number, frames: readonly Buffer[], discardToSeconds: number | undefined): void;
  /**
   * Sends every frame and runs every scripted action due by `now`. True once the whole stream
   * has been played, actions at its very end included: time to `close`.
   */
  tick(now: number): boolean;
  /** The server's `pause` (or `opened.startPaused`): answered with `paused`. */
  serverPause(): void;
  /** The server's `resume`: `resumed` declares the gap once no pause is left. */
  serverResume(): void;
  /** Stream position, seconds. */
  position(): number;
  readonly framesSent: number;
}

/** Frames to stream: the file, cut short by `durationSeconds`, or repeated up to it with `loop`. */
export function framesToStream(source: AudioSource | undefined, durationSeconds: number | undefined, loop: boolean): number {
  const fileFrames = source?.frameCount ?? 0;
  if (durationSeconds === undefined) return fileFrames;
  return Math.min(loop ? Infinity : fileFrames, Math.round(durationSeconds / FRAME_SECONDS));
}

export function createPacer(opts: PacerOptions): Pacer {
  const frameMs = (FRAME_SECONDS * 1000) / opts.speed;
  const plan = compileScript(opts.script, FRAME_SECONDS);
  const { totalFrames, fileFrames } = opts;

  let frames: readonly Buffer[] = [];
  let streamStart = 0;
  let nextFrame = 0;
  let framesSent = 0;
  // Either side may hold the stream; audio flows again only when neither does.
  let serverPaused = false;
  let scriptPaused = false;
  let pauseStart = 0;
  /** Scripted discards in progress (frames are dropped while > 0). */
  let discarding = 0;

  const position = (): number => Math.min(nextFrame, totalFrames) * FRAME_SECONDS;
  const paused = (): boolean => serverPaused || scriptPaused;

  /** Applies a pause change; `resumed` (with the gap) goes out only when the last pause ends. */
  const setPaused = (update: () => void): void => {
    const was = paused();
    update();
    if (was && !paused()) {
      const pos = position();
      opts.send('resumed', { start: formatDuration(pauseStart), discarded: formatDuration(pos - pauseStart) });
    } else if (!was && paused()) {
      pauseStart = position();
    }
  };

  const runAction = (a: ScriptAction): void => {
    switch (a.type) {
      case 'pause':
        setPaused(() => (scriptPaused = true));
        opts.send('paused', {});
        opts.notice(`client paused at ${position().toFixed(1)} s`);
        break;
      case 'resume':
        setPaused(() => (scriptPaused = false));
        opts.notice(`client resumed at ${position().toFixed(1)} s`);
        break;
      case 'discard-begin':
        discarding += 1;
        break;
      case 'discard-end':
        discarding -= 1;
        opts.send('discarded', { start: formatDuration(a.start), discarded: formatDuration(a.duration) });
        opts.notice(`client discarded ${a.duration.toFixed(1)} s at ${a.start.toFixed(1)} s`);
        break;
      case 'update':
        opts.send('update', { language: a.language });
        opts.notice(`client switched language to ${a.language}`);
        break;
    }
  };

  return {
    start(now, framesOfMedia, discardToSeconds) {
      streamStart = now;
      frames = framesOfMedia;
      if (discardToSeconds !== undefined) nextFrame = Math.round(discardToSeconds / FRAME_SECONDS);
    },

    tick(now) {
      // Catch up on everything due: a late tick never slows the stream down.
      while (nextFrame < totalFrames && now >= streamStart + nextFrame * frameMs) {
        for (const a of plan.get(nextFrame) ?? []) runAction(a);
        if (!paused() && discarding === 0 && frames.length > 0) {
          opts.sendFrame(frames[nextFrame % fileFrames] as Buffer, nextFrame);
          framesSent += 1;
        }
        nextFrame += 1;
      }
      if (nextFrame >= totalFrames && now >= streamStart + totalFrames * frameMs) {
        // Actions scheduled at the very end (a discard running to the end of the file) go out before close.
        for (const a of plan.get(totalFrames) ?? []) runAction(a);
        return true;
      }
      return false;
    },

    serverPause() {
      setPaused(() => (serverPaused = true));
      opts.send('paused', {});
    },

    serverResume() {
      setPaused(() => (serverPaused = false));
    },

    position,

    get framesSent() {
      return framesSent;
    },
  };
}
