/** The bench's end of speech → final figure: which frame a final is timed against. */
import { describe, expect, it } from 'vitest';
import { createLatencyProbe } from '../../src/cli/client/latency.js';
import { foldSummaries } from '../../src/cli/report.js';
import { emptySummary } from '../../src/cli/client/summary.js';

describe('createLatencyProbe', () => {
  it('times a final against the frame holding end of speech (rounded up to 20 ms) + the endpointing silence', () => {
    const probe = createLatencyProbe(500);
    // Frame k (200 ms) sent at 1000 + 200 k ms.
    for (let k = 0; k < 40; k++) probe.frameSent(k, 1000 + 200 * k);
    // Speech ends at 4.805 s → 4.82 s + 0.5 s = 5.32 s, in frame 26 ([5.2, 5.4)), sent at 6200.
    probe.final(4.805, 6203.5);
    // Ends exactly on a block (0.7 + 0.54 = 1.2400000000000002): 1.24 s + 0.5 s = 1.74 s, frame 8, sent at 2600.
    probe.final(0.7 + 0.54, 2601);
    // Position 2.0 s exactly (1.5 + 0.5) is the end of frame 9, not the start of frame 10.
    probe.final(1.5, 2802);
    expect(probe.samples).toEqual([3.5, 1, 2]);
    expect(probe.unmatched).toBe(0);
  });

  it('does not time a final that arrives before the audio ending it was sent (flushed at close)', () => {
    const probe = createLatencyProbe(400);
    for (let k = 0; k < 10; k++) probe.frameSent(k, 200 * k);
    probe.final(1.9, 2000); // needs frame 11, never sent
    expect(probe.samples).toEqual([]);
    expect(probe.unmatched).toBe(1);
  });

  it('keeps a bounded sample on long runs', () => {
    const probe = createLatencyProbe(0);
    for (let k = 0; k < 5000; k++) {
      probe.frameSent(k, 200 * k);
      probe.final(k * 0.2 + 0.1, 200 * k + 5);
    }
    expect(probe.samples.length).toBe(200);
    expect(probe.samples.every((ms) => ms === 5)).toBe(true);
  });
});

describe('foldSummaries with latency samples', () => {
  it('reports p50/p99 over every session and counts the unmatched', () => {
    const a = { ...emptySummary('a', 'c', false), closed: true, finalLatency: { samplesMs: [1, 2, 3], unmatched: 1 } };
    const b = { ...emptySummary('b', 'c', false), closed: true, finalLatency: { samplesMs: [4, 100], unmatched: 0 } };
    const r = foldSummaries([a, b], 1);
    expect(r.finalLatencyMs).toEqual({ p50: 3, p99: 100, max: 100, samples: 5, unmatched: 1 });
    expect(foldSummaries([{ ...emptySummary('x', 'c', false), closed: true }], 1).finalLatencyMs).toBeUndefined();
  });
});
