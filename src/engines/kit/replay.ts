/**
 * The audio of one channel that no final result covers yet, kept so that a replacement engine
 * stream (after a failure, or a planned rotation) can be given it again: no word is lost and,
 * because the new stream starts where the last final ended, none is doubled.
 *
 * Memory follows what is unfinalized (usually a few seconds), not the call: chunks are the
 * frames as pushed, dropped as finals arrive. A cap bounds it when no final comes; audio dropped
 * at the cap is counted, because it can no longer be recovered.
 */
interface Chunk {
  /** Channel sample index of pcm[0]. */
  start: number;
  pcm: Int16Array;
}

export class ReplayBuffer {
  private chunks: Chunk[] = [];
  private head = 0;
  private held = 0;
  private endSample = 0;
  /** Samples that fell off the cap before any final covered them. */
  droppedSamples = 0;

  constructor(private readonly maxSamples: number) {}

  /** Channel sample index of the oldest audio held (= `end` when empty). */
  get start(): number {
    return this.head < this.chunks.length ? this.chunks[this.head]!.start : this.endSample;
  }

  /** Channel sample index just past the newest audio held. */
  get end(): number {
    return this.endSample;
  }

  get samples(): number {
    return this.held;
  }

  /** Copies `pcm` (the caller's array is reused), which starts at channel sample `at`. */
  append(pcm: Int16Array, at: number): void {
    if (pcm.length === 0) return;
    this.chunks.push({ start: at, pcm: pcm.slice() });
    this.held += pcm.length;
    this.endSample = at + pcm.length;
    while (this.held > this.maxSamples && this.head < this.chunks.length) {
      const over = this.held - this.maxSamples;
      const first = this.chunks[this.head]!;
      if (first.pcm.length <= over) {
        this.dropHead();
        this.droppedSamples += first.pcm.length;
      } else {
        this.chunks[this.head] = { start: first.start + over, pcm: first.pcm.subarray(over) };
        this.held -= over;
        this.droppedSamples += over;
      }
    }
  }

  /** Forgets audio before channel sample `sample`: a final result covers it. */
  discardBefore(sample: number): void {
    while (this.head < this.chunks.length) {
      const first = this.chunks[this.head]!;
      const firstEnd = first.start + first.pcm.length;
      if (firstEnd <= sample) {
        this.dropHead();
        continue;
      }
      if (first.start < sample) {
        const cut = Math.floor(sample - first.start);
        this.chunks[this.head] = { start: first.start + cut, pcm: first.pcm.subarray(cut) };
        this.held -= cut;
      }
      break;
    }
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  /** The audio held, oldest first. */
  *read(): Generator<Int16Array> {
    for (let i = this.head; i < this.chunks.length; i++) yield this.chunks[i]!.pcm;
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.held = 0;
  }

  private dropHead(): void {
    const first = this.chunks[this.head]!;
    this.chunks[this.head] = undefined as unknown as Chunk;
    this.head += 1;
    this.held -= first.pcm.length;
  }
}
