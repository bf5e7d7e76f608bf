/**
 * Translation and languages through the real server and the real Gemini SDK, pointed at the local
 * fake Gemini API (GEMINI_BASE_URL): no internet.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSimulatedEngine } from '../../src/engines/simulated/index.js';
import type { SpeechEngine } from '../../src/engines/types.js';
import { parseDuration } from '../../src/protocol/duration.js';
import { NULL_UUID } from '../../src/protocol/auth.js';
import { startFakeGemini, type FakeGemini, type FakeGeminiBehaviour } from '../../src/testing/fake-gemini/server.js';
import { TestClient, capturingLogger, pcmuFrames, sleep, startTestServer, tone } from './harness.js';

const GEMINI_KEY = 'fake-gemini-key-123';
const MONO = [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }];
const PROBE = { conversationId: NULL_UUID, participant: { id: NULL_UUID, ani: '', aniName: '', dnis: '' }, supportedLanguages: true };

let h: Awaited<ReturnType<typeof startTestServer>> | undefined;
let gemini: FakeGemini | undefined;
afterEach(async () => {
  await h?.server.close();
  await gemini?.close();
  h = undefined;
  gemini = undefined;
});

async function start(opts: { env?: Record<string, string>; behaviour?: FakeGeminiBehaviour; engine?: SpeechEngine; logger?: ReturnType<typeof capturingLogger>['log'] } = {}) {
  gemini = await startFakeGemini(opts.behaviour ?? {});
  h = await startTestServer({ GEMINI_API_KEY: GEMINI_KEY, GEMINI_BASE_URL: gemini.url, ...opts.env }, opts.engine, opts.logger);
  return { server: h.server, gemini, engine: h.engine };
}

const TRANSLATE = { enableTranslation: true, inputLanguage: 'eu-ES' };

/** Customer 0.5–1.5 s and 3.0–3.8 s, agent 2.0–2.6 s. */
function conversation() {
  return pcmuFrames([tone(5, [[0.5, 1.5], [3.0, 3.8]]), tone(5, [[2.0, 2.6]])]);
}

const text = (t: any): string => t.alternatives[0].interpretations[0].transcript;
const tokens = (t: any): any[] => t.alternatives[0].interpretations[0].tokens;

describe('translation with Gemini (fake API, real SDK)', () => {
  it('sends finals translated into open.language: shape, language fields, token timing, context from both channels', async () => {
    const { server } = await start();
    const c = await TestClient.connect(server.url);
    c.open({ language: 'en-us', customConfig: TRANSLATE });
    expect((await c.waitType('opened')).parameters['startPaused']).toBe(false);
    for (const f of conversation()) c.audio(f);
    await c.close();

    const finals = c.transcripts();
    expect(finals.map((t) => [t.channelId, text(t)])).toEqual([
      [0, '[en-US] [speech 1.0 s]'],
      [1, '[en-US] [speech 0.6 s]'],
      [0, '[en-US] [speech 0.8 s]'],
    ]);
    for (const t of finals) {
      expect(t.isFinal).toBe(true);
      expect(t.alternatives[0].languages).toEqual(['en-US']);
      expect(t.alternatives[0].confidence).toBe(1);
      const start = parseDuration(t.offset)!;
      const end = start + parseDuration(t.duration)!;
      const toks = tokens(t);
      expect(toks.map((k) => k.value)).toEqual(text(t).split(' '));
      let prev = -1;
      for (const k of toks) {
        expect(k).toMatchObject({ type: 'word', language: 'en-US', confidence: 1 });
        const o = parseDuration(k.offset)!;
        expect(o).toBeGreaterThan(prev);
        expect(o).toBeGreaterThanOrEqual(start - 1e-9);
        expect(o + parseDuration(k.duration)!).toBeLessThanOrEqual(end + 1e-9);
        prev = o;
      }
      // In proportion to word length: "[speech" (7 chars) lasts longer than "s]" (2).
      expect(parseDuration(toks[1].duration)!).toBeGreaterThan(parseDuration(toks[3].duration)!);
    }
    expect(parseDuration(finals[0].offset)).toBeCloseTo(0.5, 1);

    const reqs = gemini!.requests;
    expect(reqs).toHaveLength(3);
    expect(reqs[0]).toMatchObject({ model: 'gemini-3.1-flash-lite', apiKey: GEMINI_KEY, message: { source: 'eu-ES', target: 'en-US', text: '[speech 1.0 s]' } });
    expect(reqs[0]!.body['generationConfig']).toMatchObject({ responseMimeType: 'application/json', responseJsonSchema: { required: ['translation'] }, thinkingConfig: { thinkingLevel: 'MINIMAL' } });
    expect(JSON.stringify(reqs[0]!.body['systemInstruction'])).toContain('translation');
    expect(reqs[0]!.message.context).toBeUndefined();
    expect(reqs[1]!.message.context).toEqual([{ speaker: 'customer', text: '[speech 1.0 s]' }]);
    expect(reqs[2]!.message.context).toEqual([
      { speaker: 'customer', text: '[speech 1.0 s]' },
      { speaker: 'agent', text: '[speech 0.6 s]' },
    ]);
  });

  it('skips the call when source and target share a language, and keeps interims then', async () => {
    const { server } = await start();
    const c = await TestClient.connect(server.url);
    c.open({ language: 'en-US', media: MONO, customConfig: { enableTranslation: 'true', inputLanguage: 'en-GB', interimResults: true } });
    await c.waitType('opened');
    for (const f of pcmuFrames([tone(4, [[0.5, 2.8]])])) c.audio(f);
    await c.close();
    const events = c.transcripts();
    expect(events.some((t) => !t.isFinal)).toBe(true);
    expect(events.filter((t) => t.isFinal).map(text)).toEqual(['[speech 2.3 s]']);
    expect(events[0].alternatives[0].languages).toEqual(['en-GB']);
    expect(gemini!.requests).toHaveLength(0);
  });

  it('sends no interims while translating (source-language text the consumer cannot read)', async () => {
    const { server } = await start();
    const c = await TestClient.connect(server.url);
    c.open({ media: MONO, customConfig: { ...TRANSLATE, interimResults: true } });
    await c.waitType('opened');
    for (const f of pcmuFrames([tone(4, [[0.5, 2.8]])])) c.audio(f);
    await c.close();
    expect(c.transcripts().map((t) => [t.isFinal, text(t)])).toEqual([[true, '[en-US] [speech 2.3 s]']]);
  });

  it('applies the glossary: only the terms the utterance contains are sent', async () => {
    const { server } = await start();
    const c = await TestClient.connect(server.url);
    c.open({ media: MONO, customConfig: { ...TRANSLATE, glossary: { Speech: 'hizketa', 'Acme Premium': 'Acme Premium' } } });
    await c.waitType('opened');
    for (const f of pcmuFrames([tone(2, [[0.5, 1.5]])])) c.audio(f);
    await c.close();
    expect(gemini!.requests[0]!.message.glossary).toEqual({ Speech: 'hizketa' });
    expect(c.transcripts().map(text)).toEqual(['[en-US] [hizketa 1.0 s]']);
  });

  it('sends the original text in time when the translation is slower than the deadline, counts and logs it without the text', async () => {
    const { log, lines } = capturingLogger('info');
    const { server } = await start({ env: { TRANSLATION_TIMEOUT_MS: '400' }, behaviour: { delayMs: () => 3000 }, logger: log });
    const c = await TestClient.connect(server.url);
    c.open({ media: MONO, customConfig: TRANSLATE });
    await c.waitType('opened');
    const sent = performance.now();
    for (const f of pcmuFrames([tone(2, [[0.5, 1.5]])])) c.audio(f);
    const ev = await c.waitType('event', 3000);
    expect(performance.now() - sent).toBeLessThan(1000);
    const t = ev.parameters['entities'][0].data;
    expect(text(t)).toBe('[speech 1.0 s]');
    expect(t.alternatives[0].languages).toEqual(['eu-ES']);
    await c.close();
    await sleep(20);
    const warn = lines.find((l) => l['msg'] === 'translation not available; sending the transcript in its source language');
    expect(warn).toMatchObject({ level: 40, why: 'timeout' });
    expect(JSON.stringify(lines)).not.toContain('[speech');
    expect(JSON.stringify(lines)).not.toContain(GEMINI_KEY);
    expect(lines.find((l) => l['msg'] === 'session ended')).toMatchObject({ translation: { translated: 0, fallbacks: 1 } });
    expect(server.stats.translations).toMatchObject({ timeout: 1 });
  });

  it('a translation service that is down (refused connections) for the whole call: every final in its source language, in order, counted', async () => {
    const { log, lines } = capturingLogger('info');
    const { server, gemini } = await start({ env: { TRANSLATION_TIMEOUT_MS: '1500' }, logger: log });
    await gemini.close(); // nothing listens at GEMINI_BASE_URL any more
    const c = await TestClient.connect(server.url);
    c.open({ customConfig: TRANSLATE });
    await c.waitType('opened');
    for (const f of conversation()) c.audio(f);
    await c.close();
    expect(c.types()).not.toContain('disconnect');
    expect(c.transcripts().map(text)).toEqual(['[speech 1.0 s]', '[speech 0.6 s]', '[speech 0.8 s]']);
    expect(c.transcripts().map((t) => t.channelId)).toEqual([0, 1, 0]);
    expect(lines.find((l) => l['msg'] === 'session ended')).toMatchObject({ translation: { translated: 0, fallbacks: 3 } });
    expect(server.stats.translations.translated).toBe(0);
    expect(server.stats.translations.failed + server.stats.translations.timeout).toBe(3);
  });

  it('retries a 429 after the retry hint it carries, inside the deadline', async () => {
    const { server } = await start({ behaviour: { fail: (r) => (r.attempt === 1 ? { status: 429, retryDelaySeconds: 0.3 } : undefined) } });
    const c = await TestClient.connect(server.url);
    c.open({ media: MONO, customConfig: TRANSLATE });
    await c.waitType('opened');
    for (const f of pcmuFrames([tone(2, [[0.5, 1.5]])])) c.audio(f);
    await c.close();
    expect(c.transcripts().map(text)).toEqual(['[en-US] [speech 1.0 s]']);
    const [first, second] = gemini!.requests;
    expect(second!.attempt).toBe(2);
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(280);
  });

  it('does not retry when the hint points past the deadline: the original goes out at once', async () => {
    const { server } = await start({ behaviour: { fail: () => ({ status: 429, retryDelaySeconds: 30 }) } });
    const c = await TestClient.connect(server.url);
    c.open({ media: MONO, customConfig: TRANSLATE });
    await c.waitType('opened');
    for (const f of pcmuFrames([tone(2, [[0.5, 1.5]])])) c.audio(f);
    await c.close();
    expect(c.transcripts().map(text)).toEqual(['[speech 1.0 s]']);
    expect(gemini!.requests).toHaveLength(1);
  });

  it("keeps a channel's events in utterance order when translations finish out of order", async () => {
    // The first utterance's translation takes 700 ms, the second's none.
    const { server } = await start({ behaviour: { delayMs: (r) => (r.message.text === '[speech 1.0 s]' ? 700 : 0) } });
    const c = await TestClient.connect(server.url);
    c.open({ media: MONO, customConfig: TRANSLATE });
    await c.waitType('opened');
    for (const f of pcmuFrames([tone(3, [[0.5, 1.5], [2.0, 2.4]])])) c.audio(f);
    await c.close();
    const finals = c.transcripts();
    expect(finals.map(text)).toEqual(['[en-US] [speech 1.0 s]', '[en-US] [speech 0.4 s]']);
    expect(parseDuration(finals[0].offset)!).toBeLessThan(parseDuration(finals[1].offset)!);
    // Both were asked for at about the same time: the second translation was done long before the first.
    const [slow, fast] = gemini!.requests;
    expect(fast!.message.text).toBe('[speech 0.4 s]');
    expect(Math.abs(fast!.receivedAt - slow!.receivedAt)).toBeLessThan(400);
  });

  it('update mid-utterance: the utterance so far is finalized in the old target, what follows goes to the new one', async () => {
    const { server } = await start();
    const c = await TestClient.connect(server.url);
    c.open({ media: MONO, customConfig: TRANSLATE });
    await c.waitType('opened');
    const frames = pcmuFrames([tone(4, [[0.5, 3.0]])]);
    for (const f of frames.slice(0, 8)) c.audio(f); // 1.6 s: speaking
    c.send('update', { language: 'fr-FR' });
    for (const f of frames.slice(8)) c.audio(f);
    await c.close();
    const finals = c.transcripts();
    expect(finals.map((t) => [text(t), t.alternatives[0].languages[0]])).toEqual([
      ['[en-US] [speech 1.1 s]', 'en-US'],
      ['[fr-FR] [speech 1.4 s]', 'fr-FR'],
    ]);
  });

  it('refuses enableTranslation that is not a boolean, at open and at the probe, and on a server without translation', async () => {
    const { server } = await start();
    for (const params of [{ customConfig: { enableTranslation: 'yes' } }, { ...PROBE, customConfig: { enableTranslation: 1 } }]) {
      const c = await TestClient.connect(server.url);
      c.open(params);
      const d = await c.waitType('disconnect');
      expect(d.parameters).toEqual({ reason: 'error', info: 'customConfig.enableTranslation must be true or false' });
    }
    await h!.server.close();
    h = await startTestServer({});
    const c = await TestClient.connect(h.server.url);
    c.open({ ...PROBE, customConfig: TRANSLATE });
    const d = await c.waitType('disconnect');
    expect(d.parameters['info']).toMatch(/^customConfig.enableTranslation: translation is not configured on this server: GEMINI_API_KEY/);
  });
});

/** The simulated engine, declaring the languages of a real engine. */
function engineFor(languages: readonly string[]): SpeechEngine {
  return { ...createSimulatedEngine(), languages };
}

describe('languages', () => {
  it('normalizes tags (case only, the tag kept) and refuses garbage at open and at update', async () => {
    const { server } = await start();
    const c = await TestClient.connect(server.url);
    c.open({ language: 'cmn-hans-cn', media: MONO });
    await c.waitType('opened');
    for (const f of pcmuFrames([tone(2, [[0.5, 1.5]])])) c.audio(f);
    c.send('update', { language: 'not a language!' });
    const d = await c.waitType('disconnect');
    expect(d.parameters['info']).toMatch(/^update.language 'not a language!' is not a BCP-47 language tag/);
    expect(c.transcripts().map((t) => t.alternatives[0].languages)).toEqual([['cmn-Hans-CN']]);
    expect(c.transcripts()[0].alternatives[0].interpretations[0].tokens[0].language).toBe('cmn-Hans-CN');

    const bad = await TestClient.connect(server.url);
    bad.open({ language: 'english' });
    expect((await bad.waitType('disconnect')).parameters['info']).toMatch(/^open.language 'english' is not a BCP-47 language tag/);
  });

  it('every update is an utterance boundary, even to the same language', async () => {
    const { server } = await start();
    const c = await TestClient.connect(server.url);
    c.open({ media: MONO });
    await c.waitType('opened');
    const frames = pcmuFrames([tone(4, [[0.5, 3.0]])]);
    for (const f of frames.slice(0, 8)) c.audio(f);
    c.send('update', { language: 'en-us' });
    for (const f of frames.slice(8)) c.audio(f);
    await c.close();
    const finals = c.transcripts();
    expect(finals).toHaveLength(2);
    expect(parseDuration(finals[0].offset)).toBeCloseTo(0.5, 1);
    expect(parseDuration(finals[1].offset)).toBeCloseTo(1.6, 1);
  });

  it('update restarts recognition in the new language for an engine whose results come late, the old utterance labelled in the old one', async () => {
    const sim = createSimulatedEngine();
    const late: SpeechEngine = {
      ...sim,
      openStream: (o) => {
        const s = sim.openStream({ ...o, onResult: (r) => setTimeout(() => o.onResult(r), 80) });
        return { push: (x) => s.push(x), flush: () => s.flush().then(() => sleep(120)), close: () => s.close() };
      },
    };
    const { server, engine } = await start({ engine: late });
    const c = await TestClient.connect(server.url);
    c.open({ media: MONO, language: 'en-US' });
    await c.waitType('opened');
    const frames = pcmuFrames([tone(4, [[0.5, 3.0]])]);
    for (const f of frames.slice(0, 8)) c.audio(f);
    c.send('update', { language: 'de-DE' });
    for (const f of frames.slice(8)) c.audio(f);
    await c.close();
    expect(c.transcripts().map((t) => t.alternatives[0].languages[0])).toEqual(['en-US', 'de-DE']);
    expect(engine.opened).toBe(2);
  });

  it('starts paused in a language the engine does not recognize, resumes on an update to one it does, pauses again on another', async () => {
    const { log, lines } = capturingLogger('info');
    const { server, engine } = await start({ engine: engineFor(['en']), logger: log });
    const c = await TestClient.connect(server.url);
    c.open({ language: 'eu-ES', media: MONO });
    const opened = await c.waitType('opened');
    expect(opened.parameters['startPaused']).toBe(true);
    expect(engine.opened).toBe(0);
    c.send('paused');
    c.send('update', { language: 'en-GB' });
    const resume = await c.waitType('resume');
    c.send('resumed', { start: 'PT0S', discarded: 'PT5S' });
    for (const f of pcmuFrames([tone(2, [[0.5, 1.5]])])) c.audio(f);
    await c.waitType('event');
    c.send('update', { language: 'zu-ZA' });
    const pause = await c.waitFor((m) => m.type === 'pause');
    expect(pause.seq).toBeGreaterThan(resume.seq);
    for (const f of pcmuFrames([tone(2, [[0.5, 1.5]])])) c.audio(f); // before the client's paused: not recognized
    c.send('paused');
    await c.close();
    const finals = c.transcripts();
    expect(finals).toHaveLength(1);
    expect(finals[0].alternatives[0].languages).toEqual(['en-GB']);
    expect(parseDuration(finals[0].offset)).toBeCloseTo(5.5, 1); // after the 5 s the client spent paused
    const why = lines.filter((l) => String(l['msg']).includes('the engine does not recognize this language'));
    expect(why.map((l) => [l['msg'], l['language']])).toEqual([
      ['opened paused: the engine does not recognize this language; waiting for an update', 'eu-ES'],
      ['pausing: the engine does not recognize this language; waiting for an update', 'zu-ZA'],
    ]);
  });

  it('refuses an inputLanguage the engine does not recognize, at open (probes included)', async () => {
    const { server } = await start({ engine: engineFor(['en']) });
    const c = await TestClient.connect(server.url);
    c.open({ ...PROBE, customConfig: TRANSLATE });
    expect((await c.waitType('disconnect')).parameters['info']).toBe("customConfig.inputLanguage 'eu-ES' is not recognized by the 'simulated' engine");
  });

  it('lists in the probe what the engine and translation can serve, narrowed by SUPPORTED_LANGUAGES', async () => {
    const probe = async (customConfig: Record<string, unknown>) => {
      const c = await TestClient.connect(h!.server.url);
      c.open({ ...PROBE, customConfig });
      const opened = await c.waitType('opened');
      await c.close();
      return opened.parameters['supportedLanguages'];
    };
    await start({ env: { SUPPORTED_LANGUAGES: 'en-US,fr-FR,eu-ES,tlh-XX' }, engine: engineFor(['eu', 'en']) });
    expect(await probe({})).toEqual(['en-US', 'eu-ES']);
    expect(await probe(TRANSLATE)).toEqual(['en-US', 'fr-FR', 'eu-ES']);
    await h!.server.close();
    h = await startTestServer({ GEMINI_API_KEY: GEMINI_KEY, GEMINI_BASE_URL: gemini!.url }, engineFor(['eu']));
    expect(await probe({})).toEqual(['eu']);
    const translated = (await probe(TRANSLATE)) as string[];
    expect(translated).toEqual(expect.arrayContaining(['eu', 'en', 'de', 'ja', 'zu']));
    expect(translated).not.toContain('tlh');
  });
});
