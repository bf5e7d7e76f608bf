/**
 * Hostile clients, part 2: generated WebSocket upgrades against the running server (protocol §8).
 *
 * Raw HTTP over 127.0.0.1 (so that anything can be sent: duplicated headers, bad request lines,
 * garbage), AUTH_FAILURE_DELAY_MS=0 so refusals are immediate. Per case: an HTTP answer arrives
 * (never a hang, never a connection closed without a status), it is 101 for a valid upgrade and
 * the right 4xx otherwise (400 bad ids, 401 auth, 404 path, 405/400 from the WebSocket handshake,
 * 426 not an upgrade), an accepted session is released once its socket goes, and — in a
 * sequential property — every refusal by the upgrade handler is counted in
 * audiohook_upgrades_rejected_total. Over capacity and while draining: 503, counted.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkInParallel } from './support/parallel.js';
import { budget, LONG, replay } from './support/settings.js';
import { expectQuiescent, metricSum, resources, startFuzzServer, unhandledRejections, type FuzzServer } from './support/server.js';
import { buildRequest, expected, mustCount, send, UPGRADE_ENV, upgradeCase, wsLevel, type UpgradeCase } from './support/upgrade.js';

const ANSWER_MS = 3_000;
/** D1 (handshake refusals by `ws` not counted) is fixed; true would tolerate it again (with its property `it.fails`). */
const TOLERATE_D1 = false;

let srv: FuzzServer;
let rejections: ReturnType<typeof unhandledRejections>;

beforeAll(async () => {
  rejections = unhandledRejections();
  srv = await startFuzzServer(UPGRADE_ENV);
});

afterAll(async () => {
  await srv?.server.close();
  rejections?.dispose();
});

/** The server's own count of refused upgrades (the figure /metrics serves). */
async function rejectedTotal(s: FuzzServer): Promise<number> {
  const metric = s.server.stats.prometheus.registry.getSingleMetric('audiohook_upgrades_rejected_total');
  if (!metric) throw new Error('audiohook_upgrades_rejected_total is not registered');
  return (await metric.get()).values.reduce((n, v) => n + v.value, 0);
}

/** Sends one case; checks the answer and, for an accepted upgrade, that its session is released. */
async function attempt(c: UpgradeCase, s: FuzzServer): Promise<number> {
  const req = buildRequest(c, s.port, Date.now() / 1000);
  const e = expected(c);
  const a = await send(s.port, req, ANSWER_MS);
  const describe = () => `${e.why}; request:\n${typeof req.text === 'string' ? req.text.slice(0, 1500) : `<${req.text.length} random bytes>`}`;
  if (a.status === undefined) {
    throw new Error(`${a.closedWithoutAnswer ? 'connection closed without an HTTP answer' : `no answer within ${ANSWER_MS} ms`} (expected ${e.statuses.join('/')}: ${describe()})`);
  }
  if (!e.statuses.includes(a.status)) throw new Error(`answered ${a.status}, expected ${e.statuses.join(' or ')} (${describe()})`);
  if (a.status === 101) {
    if (!req.sessionId) throw new Error(`accepted without a session id (${describe()})`);
    // The socket is gone already (send destroys it): the session must be released.
    if (!(await s.book.waitEnded(req.sessionId, ANSWER_MS))) throw new Error(`session ${req.sessionId} not released after its socket closed (${describe()})`);
    s.book.forget(req.sessionId);
  }
  return a.status;
}

describe('hostile clients: generated upgrades against the running server', () => {
  const many = budget(6_000, 100_000, 0x0f6_0001, 0.8);
  const counted = budget(1_000, 20_000, 0x0f6_0002, 0.2);

  it(
    `answers every mangled upgrade with 101 or the right 4xx, at once (${Number.isFinite(many.runs) ? many.runs : 'timed'} cases, concurrent)`,
    async () => {
      const before = resources();
      const statuses = new Map<number, number>();
      const outcome = await checkInParallel(
        'upgrades',
        upgradeCase,
        async (c) => {
          const status = await attempt(c, srv);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        },
        { budget: many, concurrency: 32 },
      );
      console.log(`[fuzz] upgrades: answers ${JSON.stringify(Object.fromEntries(statuses))}`);
      if (Number.isFinite(many.runs) && !replay()) expect(outcome.cases).toBe(many.runs);
      // The generator must reach both sides of every decision.
      if (!LONG && !replay() && outcome.cases >= 1000) for (const s of [101, 400, 401, 404, 405, 426]) expect(statuses.get(s) ?? 0, `answers ${s}`).toBeGreaterThan(0);
      await expectQuiescent(srv, rejections, before);
    },
    many.testTimeoutMs,
  );

  it(
    `counts every refusal of the upgrade handler in audiohook_upgrades_rejected_total (${Number.isFinite(counted.runs) ? counted.runs : 'timed'} cases, one at a time)`,
    async () => {
      let expectedTotal = 0;
      const start = await rejectedTotal(srv);
      await checkInParallel(
        'upgrade counting',
        upgradeCase,
        async (c) => {
          const before = await rejectedTotal(srv);
          const status = await attempt(c, srv);
          const delta = (await rejectedTotal(srv)) - before;
          const must = mustCount(c, status);
          // D1 (WebSocket-handshake refusals not counted) is tolerated while TOLERATE_D1; its own property below.
          if (must === 'ws' && TOLERATE_D1) return void (expectedTotal += delta);
          const want = must === 'ws' ? 1 : must;
          if (delta !== want) throw new Error(`answered ${status} (${expected(c).why}); audiohook_upgrades_rejected_total moved by ${delta}, expected ${want}`);
          expectedTotal += want;
        },
        { budget: counted, concurrency: 1 },
      );
      // /metrics serves the same total.
      const served = metricSum((await srv.httpGet('/metrics')).body, 'audiohook_upgrades_rejected_total');
      expect(served - start).toBe(expectedTotal);
    },
    counted.testTimeoutMs,
  );

  it('answers 503 over MAX_SESSIONS and while draining, counted, and accepts again after', async () => {
    const small = await startFuzzServer({ ...UPGRADE_ENV, MAX_SESSIONS: '3' });
    try {
      const valid: UpgradeCase = { method: 'GET', path: '/audiohook', key: 'open', org: 'valid', session: 'valid', correlation: 'valid', sig: 'valid', after: 'none', ws: 'ok', host: 'normal', junk: 'none', cut: 0.5, seed: 1 };
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 12 }), async (n) => {
          const before = await rejectedTotal(small);
          // n upgrades at once, each kept open until all are answered.
          const holds = await Promise.all(
            Array.from({ length: n }, async () => {
              const req = buildRequest(valid, small.port, Date.now() / 1000);
              return new Promise<{ status: number; close(): void; sessionId?: string }>((resolve, reject) => {
                const sock = connect(small.port, '127.0.0.1', () => sock.write(req.text));
                sock.once('data', (d: Buffer) => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(d.toString('latin1'))?.[1] ?? 0), close: () => sock.destroy(), ...(req.sessionId ? { sessionId: req.sessionId } : {}) }));
                sock.once('error', reject);
                setTimeout(() => reject(new Error('no answer')), ANSWER_MS).unref();
              });
            }),
          );
          const accepted = holds.filter((h) => h.status === 101).length;
          expect(holds.every((h) => h.status === 101 || h.status === 503)).toBe(true);
          expect(accepted).toBe(Math.min(n, 3));
          expect((await rejectedTotal(small)) - before).toBe(n - accepted);
          for (const h of holds) h.close();
          for (const h of holds) if (h.status === 101 && h.sessionId) expect(await small.book.waitEnded(h.sessionId, ANSWER_MS)).toBe(true);
          for (let i = 0; i < 100 && small.server.sessionCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
          expect(small.server.sessionCount).toBe(0);
        }),
        { seed: 0x0f6_0003, numRuns: 30 },
      );
      const draining = small.server.drain(0);
      const before = await rejectedTotal(small);
      const answer = await send(small.port, buildRequest(valid, small.port, Date.now() / 1000), ANSWER_MS);
      expect(answer.status).toBe(503);
      expect((await rejectedTotal(small)) - before).toBe(1);
      await draining;
    } finally {
      await small.server.close();
    }
  });

  it('still accepts a valid signed upgrade and runs a session afterwards', async () => {
    const c: UpgradeCase = { method: 'GET', path: '/audiohook', key: 'signed', org: 'valid', session: 'valid', correlation: 'valid', sig: 'valid', after: 'none', ws: 'ok', host: 'normal', junk: 'none', cut: 0.5, seed: 7 };
    expect(await attempt(c, srv)).toBe(101);
    expect((await srv.httpGet('/health')).status).toBe(200);
  });
});

describe('known defects (each fails until fixed; see the report in the issue)', () => {
  // D1: an upgrade that passes authentication but fails the WebSocket handshake — a method other
  // than GET (405), `Upgrade: h2c`, a missing or malformed Sec-WebSocket-Key, an unsupported
  // Sec-WebSocket-Version (400) — is refused by `ws` itself, and never counted in
  // audiohook_upgrades_rejected_total (server.ts counts only its own `reject()`). Minimal: a valid
  // upgrade with method POST → 405, counter unchanged.
  it('D1: counts upgrades refused by the WebSocket handshake', async () => {
    const wsFailures = upgradeCase.filter((c) => expected(c).by === 'ws' || (wsLevel(c) !== undefined && expected(c).statuses.includes(101)));
    await checkInParallel(
      'D1 ws-level refusals counted',
      wsFailures,
      async (c) => {
        const before = await rejectedTotal(srv);
        const status = await attempt(c, srv);
        const delta = (await rejectedTotal(srv)) - before;
        if (status !== 101 && delta !== 1) throw new Error(`answered ${status} (${expected(c).why}); audiohook_upgrades_rejected_total moved by ${delta}, expected 1`);
      },
      { budget: budget(100, 1_000, 0x0f6_00d1, 0.005, false), concurrency: 1 },
    );
  });

  // D5: a CONNECT request (any target, with or without the upgrade headers) gets no HTTP answer:
  // the connection is closed without a status line (node's default when the server has no
  // 'connect' listener). Every other method is answered (405/400/404/426). Minimal:
  // "CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n" → connection closed, no status.
  it('D5: answers CONNECT with an HTTP status (405)', async () => {
    const connectRequests = fc.record({
      target: fc.constantFrom('127.0.0.1:80', '/audiohook', 'audiohook.example.com:443', '*'),
      upgrade: fc.boolean(),
    });
    await checkInParallel(
      'D5 CONNECT answered',
      connectRequests,
      async ({ target, upgrade }) => {
        const text = `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${upgrade ? 'Connection: Upgrade\r\nUpgrade: websocket\r\n' : ''}\r\n`;
        const a = await send(srv.port, { text, sessionId: undefined }, ANSWER_MS);
        if (a.status === undefined || a.status < 400 || a.status >= 500) throw new Error(`CONNECT ${target}: ${a.status ?? (a.closedWithoutAnswer ? 'closed without an answer' : 'no answer')}`);
      },
      { budget: budget(20, 200, 0x0f6_00d5, 0.001, false), concurrency: 4 },
    );
  });
});
