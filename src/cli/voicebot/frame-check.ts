/**
 * Checks on the bot audio a voice-bot server sends (binary frames, protocol §1, §5, §7), the way
 * a strict Genesys Audio Connector would judge it:
 *
 * - size: every frame exactly 1600 bytes (200 ms of mono PCMU);
 * - no container: raw µ-law only, so no RIFF/Ogg/ID3/FLAC header at the start of a prompt;
 * - rate: 5 messages per second sustained, bursts of 25 (the Genesys bucket, genesys.ts);
 * - pacing: the server may run ahead of real time by at most `maxLeadMs` within a prompt
 *   (a player only buffers so much; an unbounded lead also makes barge-in useless);
 * - none at all when the session is not a voice-bot one (`expectNoAudio`).
 *
 * Findings are not protocol violations that end the call: they are counted and reported (and
 * make `--strict` fail).
 */
import { createRateLimit } from '../client/genesys.js';
import { FRAME_BYTES } from './caller.js';

const CONTAINERS: Array<[string, string]> = [
  ['RIFF', 'RIFF/WAV'],
  ['OggS', 'Ogg'],
  ['ID3', 'MP3 (ID3)'],
  ['fLaC', 'FLAC'],
];

export interface FrameFindings {
  /** Frames whose size was not FRAME_BYTES, and the first few sizes seen. */
  badSize: { count: number; sizes: number[] };
  /** Prompts that began with a container header, e.g. `prompt 2: RIFF/WAV`. */
  headers: string[];
  /** Frames over the 5/s (burst 25) rate. */
  rateExceeded: number;
  /** Largest lead over real time, ms, and how many frames went over `maxLeadMs`. */
  lead: { maxMs: number; limitMs: number; over: number };
  /** Frames on a session that expected none. */
  unexpectedAudio: number;
}

export interface FrameContext {
  /** Prompt number (1-based) this frame belongs to. */
  prompt: number;
  /** First frame of that prompt. */
  firstOfPrompt: boolean;
  /** Audio received in this prompt including this frame, ms. */
  promptAudioMs: number;
  /** Arrival of the prompt's first frame (same clock as `now`). */
  promptStartedAt: number;
}

export interface FrameChecker {
  /** Checks one frame; returns what is new about it (for the live output; the first of each kind). */
  check(frame: Uint8Array, now: number, ctx: FrameContext): string[];
  findings(): FrameFindings;
  /** Any finding at all. */
  failed(): boolean;
}

export function containerOf(frame: Uint8Array): string | undefined {
  const head = Buffer.from(frame.subarray(0, 4)).toString('latin1');
  return CONTAINERS.find(([magic]) => head.startsWith(magic))?.[1];
}

export function createFrameChecker(opts: { maxLeadMs: number; expectNoAudio: boolean; now: number }): FrameChecker {
  const withinRate = createRateLimit(opts.now);
  const f: FrameFindings = {
    badSize: { count: 0, sizes: [] },
    headers: [],
    rateExceeded: 0,
    lead: { maxMs: 0, limitMs: opts.maxLeadMs, over: 0 },
    unexpectedAudio: 0,
  };
  // Reported live once per prompt and kind, so 40 bad frames make one line, not 40.
  const said = new Set<string>();
  const once = (key: string, text: string, out: string[]): void => {
    if (said.has(key)) return;
    said.add(key);
    out.push(text);
  };

  return {
    check(frame, now, ctx) {
      const out: string[] = [];
      if (opts.expectNoAudio) {
        f.unexpectedAudio += 1;
        once('unexpected', `binary audio on a session that expects none (${frame.length} bytes)`, out);
      }
      if (frame.length !== FRAME_BYTES) {
        f.badSize.count += 1;
        if (f.badSize.sizes.length < 10 && !f.badSize.sizes.includes(frame.length)) f.badSize.sizes.push(frame.length);
        once(`size${ctx.prompt}`, `frame of ${frame.length} bytes (expected ${FRAME_BYTES}: 200 ms of mono PCMU)`, out);
      }
      if (ctx.firstOfPrompt) {
        const container = containerOf(frame);
        if (container) {
          f.headers.push(`prompt ${ctx.prompt}: ${container}`);
          out.push(`prompt starts with a ${container} header: send raw µ-law, not a file`);
        }
      }
      if (!withinRate(now)) {
        f.rateExceeded += 1;
        once(`rate${ctx.prompt}`, 'frames faster than 5/s (burst 25): Genesys would answer 429', out);
      }
      const lead = ctx.promptAudioMs - (now - ctx.promptStartedAt);
      f.lead.maxMs = Math.max(f.lead.maxMs, lead);
      if (lead > opts.maxLeadMs) {
        f.lead.over += 1;
        once(`lead${ctx.prompt}`, `audio ${Math.round(lead)} ms ahead of real time (max ${opts.maxLeadMs} ms)`, out);
      }
      return out;
    },
    findings: () => structuredClone(f),
    failed: () =>
      f.badSize.count > 0 || f.headers.length > 0 || f.rateExceeded > 0 || f.lead.over > 0 || f.unexpectedAudio > 0,
  };
}
