/**
 * A channel's transcripts leave in utterance order even when their translations finish out of
 * order: each transcript reserves its place when it is recognized, and a place is released only
 * when every earlier one has been.
 */
export class OrderedOutput<T> {
  private readonly places: Array<{ items: readonly T[] | undefined }> = [];

  constructor(private readonly out: (item: T) => void) {}

  /** Takes the next place; call the returned function once, with what goes there (maybe nothing). */
  reserve(): (items: readonly T[]) => void {
    const place: { items: readonly T[] | undefined } = { items: undefined };
    this.places.push(place);
    let filled = false;
    return (items) => {
      if (filled) return;
      filled = true;
      place.items = items;
      this.release();
    };
  }

  /** Sends `items` after everything reserved before them. */
  push(...items: T[]): void {
    if (this.places.length === 0) for (const item of items) this.out(item);
    else this.reserve()(items);
  }

  /** Places reserved and not yet sent. */
  get waiting(): number {
    return this.places.length;
  }

  private release(): void {
    while (this.places.length > 0 && this.places[0]!.items !== undefined) {
      const { items } = this.places.shift()!;
      for (const item of items!) this.out(item);
    }
  }
}
