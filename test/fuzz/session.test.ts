/**
 * Hostile clients, part 1: generated AudioHook message sequences against the running server.
 *
 * One real server (startServer + ws on 127.0.0.1), many concurrent sessions. Each case is one
 * WebSocket session: an open (valid or not), valid messages and audio interleaved with mutated,
 * reordered, duplicated, truncated, oversized, mistyped and non-JSON text, invalid UTF-8 and
 * binary frames of any size in every state, then an ending (close, answer the disconnect, drop,
 * or go silent).
 *
 * Per case: every server message is well-formed (§2: version, id, seq +1 from 1, clientseq a seq
 * the client sent, parameters an object), the control messages are what the protocol model
 * predicts (pong per ping, disconnect {error, info} per violation, closed after close and nothing
 * after it, no event before opened or after disconnect), a client that never answers is cut off,
 * the session is released (its `session ended` line), its engine streams are closed, and the
 * server logged no internal error. At the end: no session, stream, timer or socket left, no
 * unhandled rejection, and the server still serves a normal call.
 *
 * CI: a fixed seed, 10,000 cases (+ 200 silent-client cases). `npm run fuzz`: see support/settings.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TestClient } from '../server/harness.js';
import { checkInParallel } from './support/parallel.js';
import { budget, LONG, replay } from './support/settings.js';
import { expectQuiescent, resources, startFuzzServer, unhandledRejections, type FuzzServer } from './support/server.js';
import { GENESYS_OFFERS, GOOD_TAGS, NULL_UUID, openParams, sessionCase, type MsgItem, type SessionCase } from './support/session-arbitraries.js';
import { FUZZ_API_KEY, runSessionCase } from './support/session-client.js';
import { COVERAGE, STRICT, type Tolerate } from './support/session-model.js';

/** Short timeouts so that every kind of ending completes quickly. */
const SERVER_ENV = {
  GENESYS_API_KEY: FUZZ_API_KEY,
  GENESYS_CLIENT_SECRET: '',
  IDLE_TIMEOUT_SECONDS: '0.5',
  OPEN_TIMEOUT_SECONDS: '0.4',
  CLOSE_FLUSH_TIMEOUT_MS: '150',
  RETRY_AFTER_DEFAULT_MS: '300',
  AUTH_FAILURE_DELAY_MS: '0',
  MAX_SESSIONS: '100000',
};

/**
 * Defects the fuzzing found (D2–D4), each with a focused property below. All are fixed, so the
 * main property tolerates none of them; a defect found later can be tolerated here (its flag
 * true, its focused property `it.fails`) until it is fixed.
 */
const TOLERATE: Tolerate = { malformedOffersOpenWithoutMedia: false, probeStartsStreamsOnUpdate: false, resumeWhileClosing: false };

let srv: FuzzServer;
let rejections: ReturnType<typeof unhandledRejections>;

beforeAll(async () => {
  rejections = unhandledRejections();
  srv = await startFuzzServer(SERVER_ENV);
});

afterAll(async () => {
  await srv?.server.close();
  rejections?.dispose();
});

const run = (tolerate: Tolerate) => async (c: SessionCase) => void (await runSessionCase(c, srv, tolerate));

describe('hostile clients: generated message sequences against the running server', () => {
  const main = budget(10_000, 200_000, 0x5e55_0001, 0.98);
  const silent = budget(200, 4_000, 0x5e55_0002, 0.02);

  it(
    `answers every generated session correctly and releases everything (${Number.isFinite(main.runs) ? main.runs + silent.runs : 'timed'} cases)`,
    async () => {
      const before = resources();
      // Silent clients wait out the server's 10 s grace; they run alongside, each in its own slot.
      const [fast, slow] = await Promise.all([
        checkInParallel('session sequences', sessionCase(), run(TOLERATE), { budget: main, concurrency: 64 }),
        checkInParallel('silent clients', sessionCase(['silent']), run(TOLERATE), { budget: silent, concurrency: Math.min(500, Math.max(100, Math.round(silent.runs / 10))) }),
      ]);
      if (process.env['FUZZ_COVERAGE']) console.log([...COVERAGE].sort().map(([k, n]) => `${String(n).padStart(7)}  ${k}`).join('\n'));
      if (Number.isFinite(main.runs) && !replay()) {
        expect(fast.cases).toBe(main.runs);
        expect(slow.cases).toBe(silent.runs);
      }
      if (!LONG && !replay() && !process.env['FUZZ_RUNS'] && !process.env['FUZZ_MINUTES']) expect(fast.cases + slow.cases).toBeGreaterThanOrEqual(10_000);
      await expectQuiescent(srv, rejections, before);
    },
    Math.max(main.testTimeoutMs, silent.testTimeoutMs),
  );

  it('still serves a normal call afterwards', async () => {
    const c = await TestClient.connect(srv.url, { apiKey: FUZZ_API_KEY, secret: null });
    c.open();
    await c.waitType('opened');
    const ping = c.send('ping');
    expect((await c.waitType('pong')).clientseq).toBe(ping);
    await c.close();
    expect(c.types()).toEqual(['opened', 'pong', 'closed']);
    expect((await srv.httpGet('/health')).status).toBe(200);
  });
});

describe('known defects (each fails until fixed; see the report in the issue)', () => {
  const focused = budget(300, 3_000, 0x5e55_00d2, 0.005, false);
  const openOnly = (params: fc.Arbitrary<{ value: Record<string, unknown> }>) =>
    params.map(({ value }): SessionCase => ({ items: [{ k: 'msg', type: 'open', params: value, cls: 'ok', env: { t: 'none' } } satisfies MsgItem], ending: 'close', dropAfterMs: 0, hangUp: 'close' }));

  // D2: `open` whose media list is not empty but holds no well-formed offer (e.g.
  // [{"type":"video",…}] or [{"type":"audio","format":"PCMU","channels":["external"],"rate":"8000"}])
  // is answered `opened` with media [] — a session with no audio — instead of
  // `disconnect {reason:"error", info:"no supported media"}` (protocol §5: if nothing fits, disconnect).
  it('D2: refuses an open whose offers are all malformed with "no supported media"', async () => {
    const malformed = fc.array(fc.constantFrom<unknown>({ type: 'video', format: 'PCMU', channels: ['external'], rate: 8000 }, { type: 'audio', format: 'PCMU', channels: ['external'], rate: '8000' }, null, 'PCMU'), { minLength: 1, maxLength: 3 });
    const arb = openOnly(fc.tuple(openParams(0), malformed).map(([p, media]) => ({ value: { ...p.value, media } })));
    await checkInParallel('D2 malformed offers', arb, run(STRICT), { budget: focused, concurrency: 16 });
  });

  // D3: a connection probe whose language the engine does not recognize (e.g. `narrow`, or any
  // engine with a language list: google chirp_2, openai, local) is held; an `update` to a language
  // the engine recognizes then starts the channels — engine streams (vendor sessions, billing) for
  // a probe, which §9 says must start nothing. Minimal: probe open {language:"de-DE",
  // customConfig:{transcriptionVendor:"narrow"}}, then update {language:"en-US"} → 2 streams opened.
  it('D3: a probe never opens engine streams, whatever updates follow', async () => {
    const probe = fc.tuple(openParams(0), fc.constantFrom(...GOOD_TAGS)).map(([p, language]) => ({
      value: { ...p.value, conversationId: NULL_UUID, participant: { id: NULL_UUID, ani: '', aniName: '', dnis: '' }, media: GENESYS_OFFERS, language, customConfig: { transcriptionVendor: 'narrow' } },
    }));
    const updates = fc.array(fc.constantFrom(...GOOD_TAGS), { minLength: 1, maxLength: 4 });
    const arb = fc.tuple(openOnly(probe), updates).map(([c, langs]): SessionCase => ({
      ...c,
      items: [...c.items, ...langs.map((language): MsgItem => ({ k: 'msg', type: 'update', params: { language }, cls: 'ok', env: { t: 'none' } }))],
    }));
    await checkInParallel('D3 probe streams', arb, run(STRICT), { budget: focused, concurrency: 16 });
  });

  // D4: a session held for its language (startPaused) whose client sends `close` and then an
  // `update` to a language the engine recognizes gets `resume` after its close — the server asks
  // a client that has ended its stream to restart it — and the server opens engine streams for a
  // session that is closing. Minimal: open {language:"de-DE", customConfig:{transcriptionVendor:
  // "narrow"}} → opened{startPaused:true}; close; update {language:"en-US"} → resume, closed.
  it('D4: sends nothing but events and closed after the client\'s close', async () => {
    const held = fc.tuple(openParams(0), fc.constantFrom('de-DE', 'es-MX', 'fr_FR', 'eu-ES')).map(([p, language]) => ({
      value: { ...p.value, conversationId: 'a3f1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b', participant: { id: 'caller' }, media: GENESYS_OFFERS, language, customConfig: { transcriptionVendor: 'narrow' } },
    }));
    const after = fc.array(fc.constantFrom(...GOOD_TAGS), { minLength: 1, maxLength: 3 });
    const arb = fc.tuple(openOnly(held), after).map(([c, langs]): SessionCase => ({
      ...c,
      items: [
        ...c.items,
        { k: 'msg', type: 'close', params: { reason: 'end' }, cls: 'ok', env: { t: 'none' } },
        ...langs.map((language): MsgItem => ({ k: 'msg', type: 'update', params: { language }, cls: 'ok', env: { t: 'none' } })),
      ],
      ending: 'close',
    }));
    await checkInParallel('D4 resume after close', arb, run(STRICT), { budget: focused, concurrency: 16 });
  });
});
