/**
 * The audio of one channel that no final result covers yet, kept so that a replacement engine
 * stream (after a failure, or a planned rotation) can be given it again: no word is lost and,
 * because the new stream starts where the last final ended, none is doubled.
 *
 * Memory follows what is unfinalized (usually a few seconds), not the call. Audio is copied into
 * one-second blocks taken from a process-wide pool and given back as finals cover them, so the
 * per-frame cost is a copy, not an allocation (thousands of streams push 5 frames a second). A cap
 * bounds it when no final comes; audio dropped at the cap is counted: it can no longer be recovered.
 */

/** Samples per block: one second at 8 kHz. */
const BLOCK = 8000;
/** Free blocks kept for reuse (16 KB each); beyond this they are left to the garbage collector. */
const MAX_POOLED = 4096;
const pool: Int16Array[] = [];

const takeBlock = (): Int16Array => pool.pop() ?? new Int16Array(BLOCK);
const giveBlock = (block: Int16Array): void => void (pool.length < MAX_POOLED && pool.push(block));

export class ReplayBuffer {
  /** Blocks in order; the oldest sample held is blocks[0][head]. */
  private blocks: Int16Array[] = [];
  private head = 0;
  /** Samples filled in the last block. */
  private tail = BLOCK;
  private startSample = 0;
  private endSample = 0;
  /** Samples that fell off the cap before any final covered them. */
  droppedSamples = 0;

  constructor(private readonly maxSamples: number) {}

  /** Channel sample index of the oldest audio held (= `end` when empty). */
  get start(): number {
    return this.startSample;
  }

  /** Channel sample index just past the newest audio held. */
  get end(): number {
    return this.endSample;
  }

  get samples(): number {
    return this.endSample - this.startSample;
  }

  /** Copies `pcm` (the caller's array is reused), which starts at channel sample `at`. */
  append(pcm: Int16Array, at: number): void {
    if (pcm.length === 0) return;
    // Audio arrives contiguously; anything else starts the buffer afresh.
    if (at !== this.endSample || this.blocks.length === 0) this.restartAt(at);
    let i = 0;
    while (i < pcm.length) {
      if (this.tail === BLOCK) {
        this.blocks.push(takeBlock());
        this.tail = 0;
      }
      const n = Math.min(BLOCK - this.tail, pcm.length - i);
      this.blocks[this.blocks.length - 1]!.set(pcm.subarray(i, i + n), this.tail);
      this.tail += n;
      i += n;
    }
    this.endSample += pcm.length;
    const over = this.samples - this.maxSamples;
    if (over > 0) {
      this.droppedSamples += over;
      this.discardBefore(this.startSample + over);
    }
  }

  /** Forgets audio before channel sample `sample`: a final result covers it. */
  discardBefore(sample: number): void {
    let drop = Math.min(Math.floor(sample), this.endSample) - this.startSample;
    while (drop > 0 && this.blocks.length > 0) {
      const filled = this.blocks.length === 1 ? this.tail : BLOCK;
      const n = Math.min(filled - this.head, drop);
      this.head += n;
      this.startSample += n;
      drop -= n;
      if (this.head === filled && this.blocks.length > 1) {
        giveBlock(this.blocks.shift()!);
        this.head = 0;
      }
    }
  }

  /** The audio held, oldest first (views valid until the next append or discard). */
  *read(): Generator<Int16Array> {
    const last = this.blocks.length - 1;
    for (let b = 0; b <= last; b++) {
      const view = this.blocks[b]!.subarray(b === 0 ? this.head : 0, b === last ? this.tail : BLOCK);
      if (view.length > 0) yield view;
    }
  }

  /** Gives every block back; the buffer stays usable. */
  clear(): void {
    this.restartAt(this.endSample);
  }

  private restartAt(at: number): void {
    for (const block of this.blocks) giveBlock(block);
    this.blocks = [];
    this.head = 0;
    this.tail = BLOCK;
    this.startSample = at;
    this.endSample = at;
  }
}
