/**
 * Runs the caller script against the bot's prompts: each step waits for its trigger (the end or
 * start of a prompt, or a time after the previous step), then plays its file into the caller's
 * audio, dials its digits 250 ms apart, and hangs up when asked. Driven by the call's ticks.
 */
import type { Caller } from './caller.js';
import type { PlayerTracker } from './player-tracker.js';
import type { ScriptStep, VoiceBotScript } from './script.js';

/** After a prompt has ended, the caller takes this long to start talking. */
export const AFTER_PROMPT_MS = 500;
/** Gap between two DTMF digits (a quick but human keypad). */
export const DTMF_INTERVAL_MS = 250;

export interface PlayedStep {
  /** 1-based step number. */
  step: number;
  file: string;
  startMs: number;
  endMs: number;
}

export interface StepRunnerOptions {
  script: VoiceBotScript;
  tracker: PlayerTracker;
  caller: Caller;
  /** Seconds a `prompt` / `prompt-start` step waits for its prompt before going on anyway. */
  promptTimeoutSeconds: number;
  sendDtmf(digit: string, at: number): void;
  hangup(at: number): void;
  onPlay(step: PlayedStep, durationSeconds: number): void;
  onTimeout(step: number, waitedSeconds: number, at: number): void;
}

export interface StepRunner {
  start(now: number): void;
  tick(now: number): void;
  /** Every step has fired and its audio and digits are out. */
  done(now: number): boolean;
  readonly played: readonly PlayedStep[];
}

export function createStepRunner(opts: StepRunnerOptions): StepRunner {
  const { steps } = opts.script;
  const played: PlayedStep[] = [];
  const digits: Array<{ digit: string; at: number }> = [];
  let next = 0;
  let prevStart = 0;
  let prevEnd = 0;
  let hangupAt: number | undefined;
  let resumeAt: number | undefined;
  /** Set once a prompt step starts waiting: the prompt it waits for, and until when. */
  let armed: { target: number; since: number; deadline: number } | undefined;

  /** When the step is due, or undefined while its trigger has not happened. */
  const dueAt = (step: ScriptStep, now: number): number | undefined => {
    const delayMs = step.delay * 1000;
    const t = step.trigger;
    // Never before the previous step started: steps go out in order.
    if (t.kind === 'seconds') return Math.max(prevStart, prevEnd + t.seconds * 1000 + delayMs);
    if (now < prevEnd) return undefined;
    if (!armed) {
      // The prompt playing now, or else the next one to come.
      const cur = opts.tracker.current();
      const timeout = (step.timeout ?? opts.promptTimeoutSeconds) * 1000;
      armed = { target: cur ? cur.index : opts.tracker.prompts.length + 1, since: now, deadline: now + timeout };
    }
    const p = opts.tracker.prompts[armed.target - 1];
    if (t.kind === 'prompt' && p?.endedAt !== undefined) return p.endedAt + AFTER_PROMPT_MS + delayMs;
    if (t.kind === 'prompt-start' && p) return p.startAt + delayMs;
    if (now >= armed.deadline) {
      opts.onTimeout(next + 1, (now - armed.since) / 1000, now);
      return now;
    }
    return undefined;
  };

  const fire = (step: ScriptStep, now: number): void => {
    let start = now;
    let end = now;
    if (step.play) {
      const { startMs, endMs } = opts.caller.play(step.play.pcm);
      start = startMs;
      end = endMs;
      const p: PlayedStep = { step: next + 1, file: step.play.name, startMs, endMs };
      played.push(p);
      opts.onPlay(p, step.play.durationSeconds);
    }
    if (step.dtmf) {
      [...step.dtmf].forEach((digit, k) => digits.push({ digit, at: now + k * DTMF_INTERVAL_MS }));
      end = Math.max(end, now + step.dtmf.length * DTMF_INTERVAL_MS);
    }
    if (step.hold !== undefined) {
      // On hold: Genesys sends `paused`, stops the audio, and later `resumed` with the gap.
      opts.caller.serverPause();
      resumeAt = now + step.hold * 1000;
      end = Math.max(end, resumeAt);
    }
    if (step.hangup) hangupAt = end;
    prevStart = start;
    prevEnd = end;
  };

  return {
    start(now) {
      prevStart = now;
      prevEnd = now;
    },
    tick(now) {
      while (next < steps.length) {
        const step = steps[next] as ScriptStep;
        const due = dueAt(step, now);
        if (due === undefined || now < due) break;
        fire(step, now);
        next += 1;
        armed = undefined;
      }
      while (digits.length > 0 && now >= (digits[0] as { at: number }).at) {
        const d = digits.shift() as { digit: string; at: number };
        opts.sendDtmf(d.digit, now);
      }
      if (resumeAt !== undefined && now >= resumeAt) {
        resumeAt = undefined;
        opts.caller.serverResume();
      }
      if (hangupAt !== undefined && now >= hangupAt) {
        hangupAt = undefined;
        opts.hangup(now);
      }
    },
    done: (now) => next >= steps.length && digits.length === 0 && now >= prevEnd,
    played,
  };
}
