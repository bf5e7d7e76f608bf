/**
 * The Genesys-like CLI runs a whole call against the `openai` engine: real flite speech, the
 * server's VAD utterance buffer, the real OpenAI SDK against the fake transcription server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.js';
import { startFakeOpenAI, type FakeOpenAI } from '../../src/testing/fake-openai/server.js';
import { canSpeak, spokenCall, type SpokenCall } from '../engines/kit/speech.js';
import { API_KEY, CLIENT_SECRET, run, startRealServer, writeStereoWav } from './helpers.js';

// Lengths far apart: the fake tells the sentences apart by how long their audio is.
const customerTexts = ['Hello.', 'The number is four four seven two, and the date is the fifth of March.'];
const agentTexts = ['Sure, I can help with that.', 'Thank you, one moment please while I check your account details.'];

let fake: FakeOpenAI;
let server: RunningServer;
let customer: SpokenCall;
let agent: SpokenCall;
beforeAll(async () => {
  if (!canSpeak) return;
  customer = spokenCall(customerTexts, [600, 3500, 1500]);
  agent = spokenCall(agentTexts, [3000, 3000, 1000]);
  const all = [...customer.spans, ...agent.spans];
  // The fake "hears" the sentence whose length fits the audio it was sent (speech + 200 ms rolls).
  fake = await startFakeOpenAI({
    hear: (request) => all.reduce((best, s) => (Math.abs(s.endMs - s.startMs + 400 - request.durationMs) < Math.abs(best.endMs - best.startMs + 400 - request.durationMs) ? s : best)).text,
  });
  server = await startRealServer({ OPENAI_API_KEY: 'test-key', OPENAI_BASE_URL: fake.baseURL, RATE_LIMIT_PER_SECOND: '100' });
});
afterAll(async () => {
  await server?.close();
  await fake?.close();
});

describe.skipIf(!canSpeak)('simulate with transcriptionVendor openai', () => {
  it('streams a stereo call of real speech: one final per sentence, on its channel, at its time', async () => {
    const file = writeStereoWav(customer.pcm, agent.pcm);

    const r = await run(['--url', server.url, '--api-key', API_KEY, '--client-secret', CLIENT_SECRET, '--custom-config', '{"transcriptionVendor":"openai"}', '--speed', '5', '--json', file]);
    expect(r.code, r.err.join('\n')).toBe(0);
    const finals = r.json.filter((l) => l.type === 'transcript' && l.isFinal === true) as Array<{ channelId: number; offset: number; text: string }>;
    const channel = (id: number) => finals.filter((f) => f.channelId === id);
    expect(channel(0).map((f) => f.text)).toEqual(customerTexts);
    expect(channel(1).map((f) => f.text)).toEqual(agentTexts);
    channel(0).forEach((f, i) => expect(Math.abs(f.offset - customer.spans[i]!.startMs / 1000)).toBeLessThan(0.25));
    channel(1).forEach((f, i) => expect(Math.abs(f.offset - agent.spans[i]!.startMs / 1000)).toBeLessThan(0.25));
    expect(r.json.find((l) => l.type === 'summary')).toMatchObject({ ok: true, closed: true, protocolErrors: [] });
  });
});
