/**
 * A memory cache in front of a synthesizer. Bots repeat themselves (greetings, "sorry, I did not
 * get that"): those prompts are served at once from memory instead of paying the vendor's
 * latency and price again. Keyed by synthesizer, voice, language and text; only complete
 * syntheses are stored; least recently used entries go first when the byte budget is reached.
 *
 * Concurrent requests for the same prompt share one synthesis: each caller reads the shared
 * chunks at its own pace, and one caller's abort ends only its own iterator. The synthesis
 * itself is aborted when no caller is left.
 */
import type { SpeechSynthesizer, SynthesisRequest } from './types.js';

export const DEFAULT_CACHE_BYTES = 32 * 1024 * 1024;

export interface CacheStats {
  /** Served from memory. */
  hits: number;
  /** Joined a synthesis already in progress. */
  shared: number;
  /** Synthesized. */
  misses: number;
  entries: number;
  bytes: number;
}

export interface CachedSynthesizer extends SpeechSynthesizer {
  stats(): CacheStats;
}

interface Flight {
  chunks: Uint8Array[];
  bytes: number;
  done: boolean;
  error: unknown;
  readers: number;
  controller: AbortController;
  wake: Set<() => void>;
}

export function withCache(synth: SpeechSynthesizer, options: { maxBytes?: number } = {}): CachedSynthesizer {
  const maxBytes = options.maxBytes ?? DEFAULT_CACHE_BYTES;
  const counters = { hits: 0, shared: 0, misses: 0 };
  const stored = new Map<string, Uint8Array[]>();
  const sizes = new Map<string, number>();
  let storedBytes = 0;
  const flights = new Map<string, Flight>();

  const stats = (): CacheStats => ({ ...counters, entries: stored.size, bytes: storedBytes });
  const close = synth.close ? () => synth.close!() : undefined;
  if (maxBytes <= 0) {
    return {
      name: synth.name,
      ...(synth.languages ? { languages: synth.languages } : {}),
      synthesize(request) {
        counters.misses++;
        return synth.synthesize(request);
      },
      stats,
      ...(close ? { close } : {}),
    };
  }

  function store(key: string, chunks: Uint8Array[], bytes: number): void {
    if (bytes === 0 || bytes > maxBytes) return;
    stored.set(key, chunks);
    sizes.set(key, bytes);
    storedBytes += bytes;
    for (const [oldest] of stored) {
      if (storedBytes <= maxBytes) break;
      storedBytes -= sizes.get(oldest) ?? 0;
      stored.delete(oldest);
      sizes.delete(oldest);
    }
  }

  function start(key: string, request: SynthesisRequest): Flight {
    const flight: Flight = { chunks: [], bytes: 0, done: false, error: undefined, readers: 0, controller: new AbortController(), wake: new Set() };
    const notify = () => {
      for (const w of flight.wake) w();
      flight.wake.clear();
    };
    flights.set(key, flight);
    void (async () => {
      try {
        for await (const chunk of synth.synthesize({ ...request, signal: flight.controller.signal })) {
          flight.chunks.push(chunk);
          flight.bytes += chunk.length;
          notify();
        }
        // A synthesis ended by an abort may be cut short: never stored.
        if (!flight.controller.signal.aborted) store(key, flight.chunks, flight.bytes);
      } catch (err) {
        flight.error = err;
      } finally {
        flight.done = true;
        if (flights.get(key) === flight) flights.delete(key);
        notify();
      }
    })();
    return flight;
  }

  async function* read(key: string, flight: Flight, signal: AbortSignal): AsyncGenerator<Uint8Array> {
    flight.readers++;
    const onAbort = () => {
      for (const w of flight.wake) w();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      let at = 0;
      for (;;) {
        if (signal.aborted) return;
        if (at < flight.chunks.length) {
          yield flight.chunks[at++]!.slice(); // shared with other callers and the cache
          continue;
        }
        if (flight.done) {
          if (flight.error !== undefined) throw flight.error;
          return;
        }
        await new Promise<void>((resolve) => flight.wake.add(resolve));
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      flight.readers--;
      if (flight.readers === 0 && !flight.done) {
        // Nobody wants it any more: stop the vendor, and let the next request start afresh.
        if (flights.get(key) === flight) flights.delete(key);
        flight.controller.abort();
      }
    }
  }

  async function* synthesize(request: SynthesisRequest): AsyncGenerator<Uint8Array> {
    if (request.signal.aborted) return;
    const key = JSON.stringify([synth.name, request.voice ?? '', request.language, request.text]);
    const hit = stored.get(key);
    if (hit) {
      counters.hits++;
      // Most recently used goes last: Map keeps insertion order.
      stored.delete(key);
      stored.set(key, hit);
      for (const chunk of hit) {
        if (request.signal.aborted) return;
        yield chunk.slice(); // a caller that writes into its chunk must not change the cache
      }
      return;
    }
    let flight = flights.get(key);
    if (flight) counters.shared++;
    else {
      counters.misses++;
      flight = start(key, request);
    }
    yield* read(key, flight, request.signal);
  }

  return { name: synth.name, ...(synth.languages ? { languages: synth.languages } : {}), synthesize, stats, ...(close ? { close } : {}) };
}
