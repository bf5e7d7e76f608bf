import { describe, expect, it } from 'vitest';
import { OrderedOutput } from '../../src/translation/ordered.js';

describe('OrderedOutput', () => {
  it('sends at once when nothing waits, and in reservation order when places fill out of order', () => {
    const out: string[] = [];
    const o = new OrderedOutput<string>((s) => out.push(s));
    o.push('a');
    expect(out).toEqual(['a']);
    const first = o.reserve();
    const second = o.reserve();
    o.push('c'); // behind both places
    second(['b1', 'b2']);
    expect(out).toEqual(['a']);
    expect(o.waiting).toBe(3);
    first(['x']);
    expect(out).toEqual(['a', 'x', 'b1', 'b2', 'c']);
    expect(o.waiting).toBe(0);
  });

  it('lets a place be filled with nothing, and only once', () => {
    const out: number[] = [];
    const o = new OrderedOutput<number>((n) => out.push(n));
    const p = o.reserve();
    o.push(2);
    p([]);
    p([1]);
    expect(out).toEqual([2]);
  });
});
