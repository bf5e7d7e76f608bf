/** The CLI's pure parts: arguments, scripts, server-message checks, audio source, report folding. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeMulaw } from '../../src/audio/mulaw.js';
import { writeWav } from '../../src/audio/wav.js';
import { parseSimulateArgs, PLACEHOLDER_API_KEY, UsageError } from '../../src/cli/args.js';
import { createAudioSource, loadWavSource } from '../../src/cli/client/audio-source.js';
import { GENESYS_OFFERS } from '../../src/cli/client/genesys.js';
import { compileScript } from '../../src/cli/client/script.js';
import { emptySummary } from '../../src/cli/client/summary.js';
import { checkEvent, checkOpened } from '../../src/cli/client/validate.js';
import { foldSummaries, percentile } from '../../src/cli/report.js';
import { run } from './helpers.js';

describe('arguments', () => {
  it('applies defaults, environment and merged custom config', () => {
    const o = parseSimulateArgs(
      ['--custom-config', '{"a":1,"b":1}', '--custom-config', '{"b":2}', '--interim', 'x.wav'],
      { GENESYS_API_KEY: 'env-key', GENESYS_ORG_ID: 'd7934305-0972-4844-938e-9060eef73d05, 11111111-1111-1111-1111-111111111111' },
    );
    expect(o).toMatchObject({
      mode: 'call', file: 'x.wav', url: 'ws://127.0.0.1:8080/audiohook', apiKey: 'env-key', language: 'en-US', speed: 1,
      organizationId: 'd7934305-0972-4844-938e-9060eef73d05', customConfig: { a: 1, b: 2, interimResults: true },
    });
    expect(o?.clientSecret).toBeUndefined();
    expect(parseSimulateArgs(['--probe'], {})?.apiKey).toBe(PLACEHOLDER_API_KEY);
  });

  it('reads scripted events and load options', () => {
    const o = parseSimulateArgs(
      ['--pause-at', '5', '--resume-at', '7.5s', '--discard-at', '12:PT2S', '--discard-at', '20:1', '--update-language-at', '9:es-ES',
        '--sessions', '10', '--rate', '2.5', '--loop', '--duration', '60', 'x.wav'],
      {},
    );
    expect(o).toMatchObject({
      mode: 'load', sessions: 10, rate: 2.5, loop: true, durationSeconds: 60,
      script: { pauseAt: 5, resumeAt: 7.5, discards: [{ at: 12, duration: 2 }, { at: 20, duration: 1 }], languageUpdates: [{ at: 9, language: 'es-ES' }] },
    });
    expect(parseSimulateArgs(['--help'], {})).toBeUndefined();
  });

  it.each([
    [['x.wav', '--bogus']],
    [[]],
    [['--resume-at', '3', 'x.wav']],
    [['--pause-at', '5', '--resume-at', '4', 'x.wav']],
    [['--discard-at', '5', 'x.wav']],
    [['--custom-config', '[1]', 'x.wav']],
    [['--sessions', '0', 'x.wav']],
    [['--loop', 'x.wav']],
    [['--org-id', 'nope', 'x.wav']],
    [['--url', 'http://x', 'x.wav']],
    [['a.wav', 'b.wav']],
  ])('rejects %j', (argv) => {
    expect(() => parseSimulateArgs(argv, {})).toThrow(UsageError);
  });

  it('exits 2 on usage errors and on unreadable files, 0 on --help', async () => {
    expect((await run(['--speed', 'fast', 'x.wav'])).code).toBe(2);
    const missing = await run(['/nonexistent/call.wav']);
    expect(missing.code).toBe(2);
    expect(missing.err.join('\n')).toContain('cannot read /nonexistent/call.wav: ENOENT');
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out.join('\n')).toContain('--discard-at T:DUR');
  });
});

describe('script', () => {
  it('puts events on the 200 ms frame grid, discard end before anything else in its frame', () => {
    const plan = compileScript({ pauseAt: 1.01, resumeAt: 2, discards: [{ at: 3, duration: 0.5 }], languageUpdates: [{ at: 3.6, language: 'de-DE' }] }, 0.2);
    expect(plan.get(5)).toEqual([{ type: 'pause' }]);
    expect(plan.get(10)).toEqual([{ type: 'resume' }]);
    expect(plan.get(15)).toEqual([{ type: 'discard-begin' }]);
    // 0.5 s rounds to 3 frames (0.6 s): the declared gap is what was really dropped.
    expect(plan.get(18)).toEqual([{ type: 'discard-end', start: 3, duration: 0.6 }, { type: 'update', language: 'de-DE' }]);
  });
});

describe('server message checks', () => {
  it('accepts exactly one offered media, unchanged, and asks for languages when requested', () => {
    const offer = { rate: 8000, channels: ['external', 'internal'], format: 'PCMU', type: 'audio' }; // key order differs
    const ok = checkOpened({ media: [offer], startPaused: false, supportedLanguages: ['en-US'] }, GENESYS_OFFERS, true);
    expect(ok).toEqual({ ok: true, value: { media: GENESYS_OFFERS[0], startPaused: false, supportedLanguages: ['en-US'] } });
    expect(checkOpened({ media: [] }, GENESYS_OFFERS, false)).toMatchObject({ ok: true, value: { media: null } });
    expect(checkOpened({ media: [{ ...offer, channels: ['internal', 'external'] }] }, GENESYS_OFFERS, false).ok).toBe(false);
    expect(checkOpened({ media: [offer, offer] }, GENESYS_OFFERS, false).ok).toBe(false);
    expect(checkOpened({ media: [offer] }, GENESYS_OFFERS, true)).toEqual({
      ok: false, error: 'opened.supportedLanguages missing although open asked for it',
    });
  });

  const event = (data: Record<string, unknown>, tokens: unknown[] = []) => ({
    entities: [{ type: 'transcript', data: {
      id: 'u1', channelId: 1, isFinal: true, offset: 'PT1.1S', duration: 'PT1.6S',
      alternatives: [{ confidence: 0.9, languages: ['es-ES'], interpretations: [{ type: 'display', transcript: 'hola', tokens }] }],
      ...data,
    } }],
  });

  it('reads transcripts and rejects malformed ones', () => {
    const word = (offset: string) => ({ type: 'word', value: 'w', confidence: 0.9, offset, duration: 'PT0.1S' });
    expect(checkEvent(event({}, [word('PT1.1S'), word('PT2.7S')]), ['external', 'internal'])).toEqual({
      ok: true,
      value: { otherEntities: 0, transcripts: [{ id: 'u1', channelId: 1, channel: 'internal', isFinal: true, offset: 1.1, duration: 1.6, text: 'hola', confidence: 0.9, language: 'es-ES' }] },
    });
    const bad = (e: Record<string, unknown>, channels: Array<'external' | 'internal'> = ['external', 'internal']) => {
      const r = checkEvent(e, channels);
      return r.ok ? 'ok' : r.error;
    };
    expect(bad(event({}), ['external'])).toMatch(/channelId 1 is not a channel/);
    expect(bad(event({ offset: 'PT1e-7S' }))).toMatch(/offset/);
    expect(bad(event({ isFinal: 'yes' }))).toMatch(/isFinal/);
    expect(bad(event({ alternatives: [] }))).toMatch(/alternatives/);
    expect(bad(event({}, [word('PT1.2S'), word('PT1.2S')]))).toMatch(/two tokens/);
    expect(bad(event({}, [word('PT3S')]))).toMatch(/outside the utterance/);
    expect(bad({ entities: [] })).toMatch(/without entities/);
    expect(checkEvent({ entities: [{ type: 'other', data: {} }] }, ['external'])).toMatchObject({ ok: true, value: { otherEntities: 1 } });
  });
});

describe('audio source', () => {
  it('cuts 200 ms frames for every media, padding the last one with silence', () => {
    const external = new Int16Array(2000).fill(1000);
    const internal = new Int16Array(2000).fill(-1000);
    const src = createAudioSource('t', { external, internal });
    expect(src.frameCount).toBe(2);
    const stereo = src.framesFor(GENESYS_OFFERS[0]!);
    expect(stereo.map((f) => f.length)).toEqual([3200, 3200]);
    const pcm = decodeMulaw(stereo[1]!);
    expect(Math.abs((pcm[0] as number) - 1000)).toBeLessThan(40);
    expect(Math.abs((pcm[1] as number) + 1000)).toBeLessThan(40);
    expect(pcm[800]).toBe(0); // past the end: silence
    expect(src.framesFor(GENESYS_OFFERS[0]!)).toBe(stereo); // built once, shared
    expect(src.framesFor({ type: 'audio', format: 'L16', channels: ['internal'], rate: 8000 })[0]?.readInt16LE(0)).toBe(-1000);
  });

  it('reads a 16 kHz mono PCM16 WAV onto the customer channel at 8 kHz', async () => {
    const samples = new Int16Array(16000).fill(500);
    const path = join(mkdtempSync(join(tmpdir(), 'cli-src-')), 'mono16k.wav');
    writeFileSync(path, writeWav({ sampleRate: 16000, channels: 1, format: 'L16', data: new Uint8Array(samples.buffer) }));
    const src = await loadWavSource(path);
    expect(src.durationSeconds).toBeCloseTo(1, 3);
    const frame = src.framesFor({ type: 'audio', format: 'L16', channels: ['external', 'internal'], rate: 8000 })[2]!;
    expect(frame.readInt16LE(400)).toBe(500);
    expect(frame.readInt16LE(402)).toBe(0);
  });
});

describe('report', () => {
  it('computes percentiles and folds sessions, grouping problems', () => {
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 99)).toBe(99);
    expect(percentile([], 99)).toBe(0);
    const ok = { ...emptySummary('a', 'c', false), closed: true, openLatencyMs: 4, events: 3, finals: 3 };
    const bad = { ...emptySummary('b', 'c', false), failure: 'upgrade rejected: HTTP 401 (check --api-key/--client-secret)' };
    const r = foldSummaries([ok, bad, { ...bad, sessionId: 'x' }], 2);
    expect(r).toMatchObject({ sessions: 3, ok: 1, failed: 2, events: 3, openLatencyMs: { p50: 4, p99: 4 } });
    expect(r.problems).toEqual([{ text: 'upgrade rejected: HTTP 401 (check --api-key/--client-secret)', count: 2 }]);
  });
});
