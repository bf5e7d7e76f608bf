/**
 * A small pool of Speech clients, each with its own HTTP/2 connection. A connection carries a
 * bounded number of concurrent streams (Google allows about 100), and 1,000 stereo calls are
 * 2,000 streams: a stream goes to the least-loaded connection, and a connection is added only
 * when all are full. Clients are made once per process, never per call.
 */
export interface Lease<C> {
  readonly client: C;
  /** Returns the stream's slot; a second call does nothing. */
  release(): void;
}

export interface ClientPool<C> {
  acquire(): Lease<C>;
  /** Connections opened so far. */
  readonly size: number;
  /** Streams holding a slot. */
  readonly active: number;
  close(): Promise<void>;
}

export function createClientPool<C>(
  make: (index: number) => C,
  closeClient: (client: C) => Promise<void>,
  streamsPerConnection: number,
): ClientPool<C> {
  const entries: Array<{ client: C; active: number }> = [];
  let active = 0;
  return {
    acquire() {
      let best = entries[0];
      for (const e of entries) if (e.active < best!.active) best = e;
      if (!best || best.active >= streamsPerConnection) {
        best = { client: make(entries.length), active: 0 };
        entries.push(best);
      }
      const entry = best;
      entry.active += 1;
      active += 1;
      let released = false;
      return {
        client: entry.client,
        release() {
          if (released) return;
          released = true;
          entry.active -= 1;
          active -= 1;
        },
      };
    },
    get size() {
      return entries.length;
    },
    get active() {
      return active;
    },
    async close() {
      const all = entries.splice(0);
      await Promise.all(all.map((e) => closeClient(e.client).catch(() => {})));
    },
  };
}
