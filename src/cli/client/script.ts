/**
 * Scripted client events (`--pause-at`, `--resume-at`, `--discard-at`, `--update-language-at`),
 * compiled to actions keyed by frame index. Times are stream-timeline seconds (= file time: the
 * file keeps playing while the client is paused or dropping audio, as a real call would), rounded
 * to the 200 ms frame grid.
 */
export interface CallScript {
  pauseAt?: number;
  resumeAt?: number;
  discards: Array<{ at: number; duration: number }>;
  languageUpdates: Array<{ at: number; language: string }>;
}

export type ScriptAction =
  | { type: 'pause' }
  | { type: 'resume' }
  /** Frames from here on are dropped until the matching `discard-end`. */
  | { type: 'discard-begin' }
  /** Sent just before the first frame after the gap, so the gap is declared before that audio. */
  | { type: 'discard-end'; start: number; duration: number }
  | { type: 'update'; language: string };

export const EMPTY_SCRIPT: CallScript = { discards: [], languageUpdates: [] };

export function compileScript(script: CallScript, frameSeconds: number): Map<number, ScriptAction[]> {
  const plan = new Map<number, ScriptAction[]>();
  const at = (frame: number, action: ScriptAction): void => {
    const list = plan.get(frame);
    if (list) list.push(action);
    else plan.set(frame, [action]);
  };
  const frameOf = (seconds: number): number => Math.max(0, Math.round(seconds / frameSeconds));
  // Millisecond-rounded so 3 × 0.2 prints as 0.6, not 0.6000000000000001.
  const time = (frames: number): number => Math.round(frames * frameSeconds * 1000) / 1000;

  // Ordering within one frame: end a discard before anything else, begin one last.
  for (const d of script.discards) {
    const begin = frameOf(d.at);
    const frames = Math.max(1, Math.round(d.duration / frameSeconds));
    at(begin + frames, { type: 'discard-end', start: time(begin), duration: time(frames) });
  }
  for (const u of script.languageUpdates) at(frameOf(u.at), { type: 'update', language: u.language });
  if (script.pauseAt !== undefined) at(frameOf(script.pauseAt), { type: 'pause' });
  if (script.resumeAt !== undefined) at(frameOf(script.resumeAt), { type: 'resume' });
  for (const d of script.discards) at(frameOf(d.at), { type: 'discard-begin' });
  return plan;
}
