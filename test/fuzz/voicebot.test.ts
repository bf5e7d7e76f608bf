/**
 * Hostile clients, part 3: generated voice-bot (Audio Connector) sessions against the running server.
 *
 * One real server (startServer + ws on 127.0.0.1) whose BOTS name a few connector ids (weird but
 * valid path segments among them; BOTS rather than BOT_WEBHOOK_URL, which would serve every id,
 * so that unknown and empty ids are refused) all pointing to one scripted bot on 127.0.0.1
 * (support/voicebot-bot.ts). It answers each turn from the plan its case chose — a greeting,
 * answers, digit collection, the end with output variables, a slow answer past BOT_TIMEOUT_MS,
 * HTTP 500, an invalid reply — so every case is reproducible. Real flite synthesis (the file is
 * skipped without flite), the `simulated` engine, short timeouts. Each case is one session on
 * `/audioconnector/<id>`: a known connector mostly, sometimes an unknown or empty one or a path
 * that is no connector's (404); a valid or broken `open`; then keys (valid, invalid, non-strings),
 * playback reports at any time, holds (paused … resumed), pings, the caller's audio (silence,
 * noise, speech, full-scale bytes, wrong sizes; paced in real time or not), garbage text and
 * envelope mutations — hostile clients and clean ones — then an ending (close, answer the
 * disconnect, converse like Genesys with playback reports, drop, go silent).
 *
 * Per case (support/voicebot-model.ts): every server text is well-formed (§2: version, id, seq +1
 * from 1, clientseq a seq the client sent, parameters an object) and the control messages are
 * what the protocol model predicts (pong per ping, disconnect {error, info} per violation, closed
 * after close and nothing after it, an unknown connector or a language flite cannot speak refused
 * at open); the server ends a conversation by itself only as the bot explains (completed with the
 * bot's own output variables, as strings; bot unavailable) or a timeout; every binary frame is
 * 1,600 bytes, between `opened` and `disconnect`/`closed`, never more than the lead ahead of real
 * time, none where nothing was said, none on hold, none of an interrupted prompt after `barge_in`,
 * and all the server counted reached the client; a bot's goodbye plays out before `disconnect
 * completed`, and `no_input` waits for the prompt to play out; events are `barge_in` {} and
 * `bot_turn_response` {disposition, a text the bot said, confidence}; the bot hears nothing for
 * probes and refused sessions, `start` first, only real keys in the order pressed, and `end` when
 * the call ends other than by its own say; a client that never answers is cut off (never before
 * the idle timeout); the session is released, its engine streams are closed, and the server
 * logged no internal error. At the end: no session, stream, timer, socket, flite process or flite
 * temporary directory left, no unhandled rejection, and the server still serves a normal call.
 *
 * Defects found (V1–V3) are tolerated by the main property and each has a focused `it.fails`.
 *
 * CI: a fixed seed, 400 cases (+ 30 silent-client cases), ~25 s for the file. `npm run fuzz`:
 * 20,000 (+ 600); see support/settings.ts.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { findExecutable } from '../../src/config/executables.js';
import { loadConfig } from '../../src/config/config.js';
import { createSynthesizers, type SynthesisRegistry } from '../../src/synthesis/registry.js';
import { runVoiceBotCall } from '../../src/cli/voicebot/run.js';
import { ORG_ID } from '../server/harness.js';
import { checkInParallel } from './support/parallel.js';
import { budget, LONG, replay, type FuzzBudget } from './support/settings.js';
import { expectQuiescent, resources, startFuzzServer, unhandledRejections, type FuzzServer } from './support/server.js';
import { FUZZ_API_KEY } from './support/session-client.js';
import { startFuzzBot, type FuzzBot } from './support/voicebot-bot.js';
import { AUDIO_CONNECTOR_OFFER, KNOWN_CONNECTORS, voiceBotCase, type VoiceBotCase } from './support/voicebot-arbitraries.js';
import { VB_STATS, runVoiceBotCase } from './support/voicebot-client.js';
import { VB_COVERAGE, type VbTolerate } from './support/voicebot-model.js';

const canSynthesize = findExecutable('flite') !== undefined;

/** Short timeouts so that every kind of ending, and every bot turn, completes quickly. */
const SERVER_ENV = {
  GENESYS_API_KEY: FUZZ_API_KEY,
  GENESYS_CLIENT_SECRET: '',
  IDLE_TIMEOUT_SECONDS: '0.5',
  OPEN_TIMEOUT_SECONDS: '0.4',
  CLOSE_FLUSH_TIMEOUT_MS: '150',
  RETRY_AFTER_DEFAULT_MS: '300',
  AUTH_FAILURE_DELAY_MS: '0',
  MAX_SESSIONS: '100000',
  BOT_TIMEOUT_MS: '300',
  // The schema's floor (1 s); a `converse` ending outlasts it.
  BOT_NO_INPUT_SECONDS: '1',
  DTMF_INTER_DIGIT_MS: '200',
  BARGE_IN_RESUME_MS: '300',
  BOT_END_MARGIN_MS: '300',
  BOT_FALLBACK_PROMPT: 'Sorry?',
  TTS_PROVIDER: 'flite',
  // A small cache: repeated prompts are served from memory, `fresh` ones make flite run.
  TTS_CACHE_MB: '4',
};

/**
 * Defects the fuzzing found, each with a focused property below (`it.fails` until fixed). The
 * main property tolerates them so that it keeps checking everything else.
 */
const TOLERATE: VbTolerate = { dropNotToldToBot: false, stoppedPromptLeaks: false, updateToUnspeakableLanguage: false };

/** A budget whose vitest timeout allows `msPerCase` of wall time per case (budget() allows 20). */
function withTime(b: FuzzBudget, msPerCase: number): FuzzBudget {
  return Number.isFinite(b.runs) ? { ...b, testTimeoutMs: Math.max(b.testTimeoutMs, b.runs * msPerCase + 120_000) } : b;
}

/** Child processes (flite) and their pipes must all be gone at the end, as timers and sockets. */
const PROCESS_KINDS = ['ProcessWrap', 'PipeWrap'];

let srv: FuzzServer;
let bot: FuzzBot;
let synthesizers: SynthesisRegistry;
let rejections: ReturnType<typeof unhandledRejections>;
/** flite writes into private temporary directories: this run's TMPDIR, empty at the end. */
let tmp: string;
let savedTmp: string | undefined;

describe.skipIf(!canSynthesize)('hostile voice-bot clients (flite installed)', () => {
  beforeAll(async () => {
    rejections = unhandledRejections();
    savedTmp = process.env['TMPDIR'];
    tmp = mkdtempSync(join(tmpdir(), 'fuzz-voicebot-'));
    process.env['TMPDIR'] = tmp;
    bot = await startFuzzBot();
    const env = { ...SERVER_ENV, BOTS: JSON.stringify(Object.fromEntries(KNOWN_CONNECTORS.map((id) => [id, { url: bot.url }]))) };
    const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', ...env });
    synthesizers = await createSynthesizers(config.synthesis, pino({ level: 'silent' }));
    srv = await startFuzzServer(env, { synthesizers });
  });

  afterAll(async () => {
    await srv?.server.close();
    await synthesizers?.close();
    await bot?.close();
    rejections?.dispose();
    if (savedTmp === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = savedTmp;
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const run = (tolerate: VbTolerate) => async (c: VoiceBotCase) => void (await runVoiceBotCase(c, { srv, bot, tolerate }));

  describe('generated voice-bot sessions against the running server', () => {
    // A voice-bot case takes real time (streams, turns, play-out): ~30 ms of wall time each at 32
    // at once, against the 20 ms budget() assumes; silent ones wait out the 10 s grace.
    const main = withTime(budget(400, 20_000, 0x0b07_0001, 0.97), 100);
    const silent = withTime(budget(30, 600, 0x0b07_0002, 0.03), 1_000);

    it(
      `answers every generated voice-bot session correctly and releases everything (${Number.isFinite(main.runs) ? main.runs + silent.runs : 'timed'} cases)`,
      async () => {
        const before = resources(PROCESS_KINDS);
        // Silent clients wait out the server's 10 s grace; they run alongside, each in its own slot.
        const [fast, slow] = await Promise.all([
          checkInParallel('voice-bot sessions', voiceBotCase(), run(TOLERATE), { budget: main, concurrency: 32 }),
          checkInParallel('silent voice-bot clients', voiceBotCase(['silent']), run(TOLERATE), { budget: silent, concurrency: Math.min(200, Math.max(30, Math.round(silent.runs / 10))) }),
        ]);
        console.log(`[fuzz] reached: ${[...VB_STATS].sort().map(([k, n]) => `${k} ${n}`).join('; ')}`);
        if (process.env['FUZZ_COVERAGE']) console.log([...VB_COVERAGE].sort().map(([k, n]) => `${String(n).padStart(7)}  ${k}`).join('\n'));
        if (Number.isFinite(main.runs) && !replay()) {
          expect(fast.cases).toBe(main.runs);
          expect(slow.cases).toBe(silent.runs);
        }
        // The runs must reach the voice-bot paths, not only refusals.
        if (!replay() && !LONG && main.runs >= 400) {
          for (const k of ['conversations with bot audio', 'barge_in events', 'bot_turn_response events', 'disconnect completed with outputVariables', 'bot heard dtmf', 'bot heard utterance']) {
            expect(VB_STATS.get(k) ?? 0, `cases reaching '${k}'`).toBeGreaterThan(0);
          }
        }
        await expectQuiescent(srv, rejections, before);
        expect(readdirSync(tmp), 'flite temporary directories left behind').toEqual([]);
        expect(bot.malformed, 'bot requests that were not well-formed').toEqual([]);
      },
      Math.max(main.testTimeoutMs, silent.testTimeoutMs),
    );

    it('still serves a normal voice-bot call afterwards', async () => {
      const sessionId = '2f6c1d1e-7a3b-4c5d-8e9f-0a1b2c3d4e5f';
      bot.plan(sessionId, ['greet', 'end']);
      const result = await runVoiceBotCall({
        url: `ws://127.0.0.1:${srv.port}${srv.config.voiceBot.path}/main`,
        apiKey: FUZZ_API_KEY,
        organizationId: ORG_ID,
        sessionId,
        language: 'en-US',
        inputVariables: { customerTier: 'gold' },
        ani: 'tel:+15551234567',
        dnis: 'tel:+15557654321',
        // During the greeting: a key (it interrupts the prompt) and the terminator, a dtmf turn the bot answers with its end.
        script: { steps: [{ trigger: { kind: 'prompt-start' }, delay: 0, hangup: false, dtmf: '7#' }] },
        maxSeconds: 20,
        maxLeadMs: 1000,
        playbackEvents: true,
        expectNoAudio: false,
        promptTimeoutSeconds: 10,
      });
      const heard = bot.log(sessionId).requests.map((r) => [r.event, r.digits]);
      bot.forget(sessionId);
      expect(result.failure).toBeUndefined();
      expect(result.protocolErrors).toEqual([]);
      expect(heard).toEqual([
        ['start', undefined],
        ['dtmf', '7'],
      ]);
      expect(result.disconnect).toEqual({ reason: 'completed', outputVariables: { turn: '2', event: 'dtmf', done: 'true', tier: 'gold' } });
      expect(result.closed).toBe(true);
      expect(result.frames).toBeGreaterThan(0);
      expect(result.bytes).toBe(result.frames * 1600);
      expect(result.findings.badSize.count).toBe(0);
      expect(result.botTurnResponses).toMatchObject([{ disposition: 'match', text: 'Goodbye.', confidence: 1 }]);
      expect((await srv.httpGet('/health')).status).toBe(200);
    }, 30_000);
  });

  describe('defects the fuzzing found (fixed; each kept as a focused property)', () => {
    const focused = budget(40, 400, 0x0b07_00d1, 0.005, false);

    // V1: a voice-bot session whose socket goes away mid-call (no `close`: the caller's line
    // dropped, Genesys crashed) never tells the bot: no `end` request, though README says the bot
    // gets `end` "when the caller hung up … or the call failed". AudioHookSession.handleTransportClosed
    // → finish() → releases → VoiceBotConversation.release(), which stops everything without the
    // `end` request hangup() sends. Minimal: open (mono PCMU, plan greet) → wait 100 ms → drop the
    // socket → the bot heard only `start`.
    it('V1: the bot is told `end` when the socket drops mid-call', async () => {
      // A small, fixed input space: each failing case waits BOT_END_MS for the `end`, so shrinking must be short.
      const arb = fc.constantFrom(100, 200, 300).map(
        (wait): VoiceBotCase => ({
          path: { kind: 'known', id: 'main', query: false },
          plan: ['greet'],
          items: [
            { k: 'msg', type: 'open', params: { organizationId: ORG_ID, conversationId: '6b0f8a52-3c1e-4d7a-9e25-1f0c2b3a4d5e', participant: { id: 'caller-1' }, media: [AUDIO_CONNECTOR_OFFER], language: 'en-US' }, cls: 'ok', env: { t: 'none' } },
            { k: 'wait', ms: wait },
          ],
          ending: 'drop',
          dropAfterMs: 0,
          converseMs: 0,
          playbackReports: false,
          hangUp: 'terminate',
        }),
      );
      await checkInParallel('V1 drop not told to the bot', arb, run({ ...TOLERATE, dropNotToldToBot: false, strictDropReason: true }), { budget: focused, concurrency: 8 });
    }, 120_000);

    // V2: frames of the interrupted prompt after `barge_in`. VoiceBotConversation.stopSpeech() calls
    // player.resume('barge-in') *before* player.stop(): when a first-stage stop (caller speech ≥
    // BARGE_IN_SOFT_MS) is in force, resume() pumps the stopped prompt's queue — up to the lead, the
    // buffer having drained during the stop — and only then is the queue dropped. commitBargeIn()
    // sends `barge_in` first, so those frames reach Genesys after it (after Genesys has flushed its
    // playback): the caller hears up to BOT_AUDIO_LEAD_FRAMES × 200 ms more of the prompt it
    // interrupted. The same happens at a hang-up (frames after the client's `close`) and at a
    // disconnect (there the session drops them, but they are counted in botAudioSeconds). With the
    // defaults (BARGE_IN_RESUME_MS 2 s) every barge-in by speech has a first stage of ~300 ms.
    // Minimal: a long greeting playing; the caller speaks (speech paced a little faster than real
    // time, so the confirmation beats BARGE_IN_RESUME_MS) → barge_in, then 1–2 binary frames
    // before the bot hears the next turn.
    it('V2: no frame of the interrupted prompt after barge_in', async () => {
      const arb = fc.tuple(fc.constantFrom(700, 1000), fc.constantFrom(0, 12_000, 20_000)).map(([wait, offset]): VoiceBotCase => {
        const speech: VoiceBotCase['items'] = [];
        for (let i = 0; i < 45; i++) speech.push({ k: 'audio', samples: 160, fill: 'speech', seed: offset + i * 160 }, { k: 'wait', ms: 15 });
        return {
          path: { kind: 'known', id: 'main', query: false },
          plan: ['long', 'quiet', 'quiet', 'quiet'],
          items: [
            { k: 'msg', type: 'open', params: { organizationId: ORG_ID, conversationId: '6b0f8a52-3c1e-4d7a-9e25-1f0c2b3a4d5e', participant: { id: 'caller-1' }, media: [AUDIO_CONNECTOR_OFFER], language: 'en-US' }, cls: 'ok', env: { t: 'none' } },
            { k: 'stream', frames: Math.round(wait / 100), frameMs: 100, fill: 'silence', seed: 0 },
            ...speech,
            { k: 'stream', frames: 3, frameMs: 100, fill: 'silence', seed: 0 },
          ],
          ending: 'close',
          dropAfterMs: 0,
          converseMs: 0,
          playbackReports: false,
          hangUp: 'close',
        };
      });
      await checkInParallel('V2 frames after barge_in', arb, run({ ...TOLERATE, stoppedPromptLeaks: false }), { budget: focused, concurrency: 4 });
    }, 120_000);

    // V3: `open` in a language the synthesizer cannot speak is refused ("speech synthesis 'flite'
    // does not speak de-DE": "a prompt the synthesizer cannot speak would only be noise: refused
    // now, not at the first prompt"), but an `update` to one is taken: AudioHookSession.handleUpdate
    // → VoiceBotConversation.setLanguage() switches the prompts to it with no such check, and the
    // call dies at its next prompt with `disconnect {error, "speech synthesis failed"}` (the bot,
    // told the new language, is then told `end` error). Minimal: open {language:"en-US"}, then
    // update {language:"de-DE"} → the greeting fails → disconnect error "speech synthesis failed".
    it('V3: an update never leads to a prompt the synthesizer cannot speak', async () => {
      const arb = fc.constantFrom('de-DE', 'es-MX', 'fr-FR').map(
        (language): VoiceBotCase => ({
          path: { kind: 'known', id: 'main', query: false },
          plan: ['greet', 'greet', 'greet'],
          items: [
            { k: 'msg', type: 'open', params: { organizationId: ORG_ID, conversationId: '6b0f8a52-3c1e-4d7a-9e25-1f0c2b3a4d5e', participant: { id: 'caller-1' }, media: [AUDIO_CONNECTOR_OFFER], language: 'en-US' }, cls: 'ok', env: { t: 'none' } },
            { k: 'msg', type: 'update', params: { language }, cls: 'ok', env: { t: 'none' } },
          ],
          ending: 'converse',
          dropAfterMs: 0,
          converseMs: 1500,
          playbackReports: true,
          hangUp: 'close',
        }),
      );
      await checkInParallel('V3 update to a language flite cannot speak', arb, run({ ...TOLERATE, updateToUnspeakableLanguage: false }), { budget: focused, concurrency: 3 });
    }, 120_000);
  });
});

describe.skipIf(canSynthesize)('hostile voice-bot clients', () => {
  it.skip('skipped: flite is not installed (apt-get install flite); voice-bot sessions need real synthesis', () => {});
});
