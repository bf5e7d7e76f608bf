/**
 * One shared timer for every session in the process. Thousands of per-session 200 ms timers would
 * cost more than one short tick that lets each session catch up on what is due; sessions compute
 * what is due from the clock, so a late tick never slows the stream down.
 */
export type TickHandler = (nowMs: number) => void;

export interface Ticker {
  /** Calls `handler` on every tick until the returned function is called. */
  add(handler: TickHandler): () => void;
}

export function createTicker(intervalMs = 20): Ticker {
  const handlers = new Set<TickHandler>();
  let timer: NodeJS.Timeout | undefined;

  const tick = (): void => {
    const now = performance.now();
    // Copy: handlers remove themselves while the tick runs.
    for (const h of [...handlers]) h(now);
  };

  return {
    add(handler) {
      handlers.add(handler);
      if (!timer) timer = setInterval(tick, intervalMs);
      return () => {
        handlers.delete(handler);
        if (handlers.size === 0 && timer) {
          clearInterval(timer);
          timer = undefined;
        }
      };
    },
  };
}

/** The process-wide ticker sessions use unless given another one. */
export const defaultTicker: Ticker = createTicker();
