/** The Genesys-like CLI runs a call against the `google` engine (the real SDK, the fake Speech v2 service). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.js';
import { startFakeGoogleSpeech, type FakeGoogleSpeech } from '../../src/testing/fake-google-speech/server.js';
import { synthesizeWords } from '../../src/testing/fake-google-speech/vocabulary.js';
import { API_KEY, CLIENT_SECRET, run, startRealServer, writeStereoWav } from './helpers.js';

let fake: FakeGoogleSpeech;
let server: RunningServer;
beforeAll(async () => {
  fake = await startFakeGoogleSpeech();
  server = await startRealServer({
    GOOGLE_SPEECH_INSECURE: 'true',
    GOOGLE_SPEECH_ENDPOINT: fake.address,
    RATE_LIMIT_PER_SECOND: '100',
    SUPPORTED_LANGUAGES: 'en-US,de-DE,eu-ES',
  });
});
afterAll(async () => {
  await server.close();
  await fake.close();
});

const google = ['--custom-config', '{"transcriptionVendor":"google"}'];

describe('the connection probe with transcriptionVendor google', () => {
  it('lists the configured languages chirp_2 streams in', async () => {
    const r = await run(['--url', server.url, '--api-key', API_KEY, '--client-secret', CLIENT_SECRET, ...google, '--probe']);
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.out.join('\n')).toContain('supported languages: en-US, de-DE');
    expect(r.out.join('\n')).not.toContain('eu-ES');
  });

  it('fails, saying what is missing, on a server without Google credentials', async () => {
    const bare = await startRealServer();
    try {
      const r = await run(['--url', bare.url, '--api-key', API_KEY, '--client-secret', CLIENT_SECRET, ...google, '--probe']);
      expect(r.code).toBe(1);
      expect([...r.out, ...r.err].join('\n')).toContain("transcriptionVendor 'google' is not configured: GOOGLE_APPLICATION_CREDENTIALS is not set");
    } finally {
      await bare.close();
    }
  });
});

describe('simulate with transcriptionVendor google', () => {
  it('streams a stereo WAV and prints the words of each channel, in order, at their times', async () => {
    const customer = synthesizeWords([['alpha', 'bravo'], ['charlie']], { leadingSilenceMs: 400, trailingSilenceMs: 3000 });
    const agent = synthesizeWords([['xray'], ['yankee', 'zulu']], { leadingSilenceMs: 1800, trailingSilenceMs: 800 });
    const file = writeStereoWav(customer.pcm, agent.pcm);

    const r = await run(['--url', server.url, '--api-key', API_KEY, '--client-secret', CLIENT_SECRET, '--custom-config', '{"transcriptionVendor":"google"}', '--speed', '10', '--json', file]);
    expect(r.code, r.err.join('\n')).toBe(0);
    const finals = r.json.filter((l) => l.type === 'transcript' && l.isFinal === true) as Array<{ channelId: number; offset: number; text: string }>;
    const channel = (id: number) => finals.filter((f) => f.channelId === id);
    expect(channel(0).map((f) => f.text)).toEqual(['Alpha bravo.', 'Charlie.']);
    expect(channel(1).map((f) => f.text)).toEqual(['Xray.', 'Yankee zulu.']);
    expect(channel(0)[1]!.offset).toBeCloseTo(customer.spans[1]!.startMs / 1000, 1);
    expect(channel(1)[0]!.offset).toBeCloseTo(agent.spans[0]!.startMs / 1000, 1);
    expect(r.json.find((l) => l.type === 'summary')).toMatchObject({ ok: true, closed: true, protocolErrors: [] });
  });
});
