import { describe, expect, it } from 'vitest';
import { canonicalLanguage, durationMs, engineErrorFrom, mapResponse } from '../../../src/engines/google/map.js';
import { createClientPool } from '../../../src/engines/google/pool.js';

const d = (ms: number) => ({ seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 });

describe('google: responses to results', () => {
  it('maps a final with word times onto the engine stream, and replaces a 0 confidence', () => {
    const call = { baseMs: 60_000, lastFinalEndMs: 0 };
    const [r] = mapResponse(
      {
        results: [
          {
            isFinal: true,
            resultEndOffset: d(2500),
            languageCode: 'en-us',
            alternatives: [
              {
                transcript: ' Hello there. ',
                confidence: 0,
                words: [
                  { word: 'Hello', startOffset: d(1200), endOffset: d(1600), confidence: 0 },
                  { word: 'there.', startOffset: d(1600), endOffset: d(2100), confidence: 0.8 },
                ],
              },
            ],
          },
        ],
      },
      call,
      0.9,
    );
    expect(r).toEqual({
      isFinal: true,
      text: 'Hello there.',
      confidence: 0.9,
      startMs: 61_200,
      endMs: 62_500,
      language: 'en-US',
      words: [
        { text: 'Hello', startMs: 61_200, endMs: 61_600 },
        { text: 'there.', startMs: 61_600, endMs: 62_100, confidence: 0.8 },
      ],
    });
    expect(call.lastFinalEndMs).toBe(2500);
  });

  it('joins the interim results of one response, starting after the last final', () => {
    const call = { baseMs: 0, lastFinalEndMs: 3000 };
    const out = mapResponse(
      {
        results: [
          { isFinal: false, resultEndOffset: d(4000), alternatives: [{ transcript: 'how are', confidence: 0 }] },
          { isFinal: false, resultEndOffset: d(4200), alternatives: [{ transcript: 'you', confidence: 0 }] },
        ],
      },
      call,
      0.9,
    );
    expect(out).toEqual([{ isFinal: false, text: 'how are you', confidence: 0.9, startMs: 3000, endMs: 4200 }]);
    expect(call.lastFinalEndMs).toBe(3000);
  });

  it('reads protobuf durations in every shape the SDK may give', () => {
    expect(durationMs({ seconds: 2, nanos: 500_000_000 })).toBe(2500);
    expect(durationMs({ seconds: '3' })).toBe(3000);
    expect(durationMs({ seconds: { toString: () => '4' }, nanos: 0 })).toBe(4000);
    expect(durationMs(null)).toBeUndefined();
    expect(canonicalLanguage('cmn-hans-cn')).toBe('cmn-Hans-CN');
    expect(canonicalLanguage('not a tag!')).toBeUndefined();
  });
});

describe('google: gRPC statuses', () => {
  it('ends the session on what retrying cannot fix, with a message an admin can act on', () => {
    const auth = engineErrorFrom({ code: 16, details: 'Request had invalid authentication credentials.' }, 'acme');
    expect([auth.kind, auth.retryable]).toEqual(['auth', false]);
    expect(auth.message).toMatch(/GOOGLE_APPLICATION_CREDENTIALS/);
    const perm = engineErrorFrom({ code: 7, details: 'denied' }, 'acme-prod');
    expect(perm.message).toMatch(/acme-prod.*roles\/speech\.client/);
    expect(engineErrorFrom({ code: 3, details: 'The model "chirp_2" does not exist in the location "global".' }, 'p').message).toMatch(/does not exist in the location/);
    expect(engineErrorFrom({ code: 5, details: 'x' }, 'p').retryable).toBe(false);
    expect(engineErrorFrom({ message: 'error:1E08010C:DECODER routines::unsupported' }, 'p')).toMatchObject({ kind: 'auth', retryable: false });
  });

  it('retries what a new stream may fix', () => {
    for (const code of [1, 2, 4, 8, 10, 11, 13, 14]) expect(engineErrorFrom({ code, details: 'x' }, 'p').retryable).toBe(true);
    expect(engineErrorFrom({ code: 8 }, 'p').kind).toBe('quota');
    expect(engineErrorFrom({ code: 11, details: 'Exceeded maximum allowed stream duration of 305 seconds.' }, 'p').message).toMatch(/OUT_OF_RANGE/);
  });
});

describe('google: client pool', () => {
  it('opens a connection only when every one is full, and reuses freed slots', async () => {
    const made: number[] = [];
    let closed = 0;
    const pool = createClientPool((i) => (made.push(i), { i }), async () => void closed++, 2);
    const a = pool.acquire();
    const b = pool.acquire();
    const c = pool.acquire();
    expect(made).toEqual([0, 1]);
    expect([a.client, b.client, c.client].map((x) => x.i)).toEqual([0, 0, 1]);
    a.release();
    a.release(); // twice is harmless
    expect(pool.active).toBe(2);
    expect(pool.acquire().client.i).toBe(0);
    expect(pool.size).toBe(2);
    await pool.close();
    expect(closed).toBe(2);
  });
});
