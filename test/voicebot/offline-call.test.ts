/**
 * A whole voice-bot call with no account, as the README's demo runs it: the caller's flite
 * questions recognized by the offline engine (pocketsphinx), the demo FAQ bot, flite prompts back.
 * The recorded bot audio is recognized again by the offline recognizer: it is the prompt that
 * was sent, as speech, not noise.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMulaw } from '../../src/audio/mulaw.js';
import { createLocalRecognizer } from '../../src/engines/local/recognizer.js';
import { DEMO_PROMPTS } from '../../src/voicebot/bot/demo.js';
import { offlineOptions, skipReason } from '../engines/local/helpers.js';
import { call, callOptions, canSynthesize, sample, startVoiceBotServer, step } from './call-helpers.js';

const words = (text: string) => text.toLowerCase().replace(/[^a-z0-9' ]+/g, ' ').split(/\s+/).filter(Boolean);

describe.skipIf(!canSynthesize || skipReason !== undefined)('offline voice-bot call (demo bot, pocketsphinx, flite)', () => {
  let server: Awaited<ReturnType<typeof startVoiceBotServer>>;
  beforeAll(async () => {
    server = await startVoiceBotServer({}, 'configured');
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers a spoken question and ends on goodbye; its prompts are heard back as the words sent', async () => {
    expect(server.config.voiceBot.demoBot).toBe(true);
    const result = await call(
      callOptions(server.url('demo'), [step({ trigger: { kind: 'prompt' }, play: sample('hours.wav') }), step({ trigger: { kind: 'prompt' }, play: sample('goodbye.wav') })], {
        maxSeconds: 60,
      }),
    );
    expect(result.failure).toBeUndefined();
    expect(result.protocolErrors).toEqual([]);
    // The question was understood: the bot answered with the opening hours, then said goodbye.
    expect(result.botTurnResponses.map((r) => r['text'])).toEqual([`${DEMO_PROMPTS.hours} ${DEMO_PROMPTS.more}`, DEMO_PROMPTS.goodbye]);
    expect(result.disconnect).toEqual({ reason: 'completed', outputVariables: { intent: 'goodbye', turns: '2', lastTopic: 'hours' } });
    expect(result.findings.badSize.count + result.findings.rateExceeded + result.findings.lead.over).toBe(0);

    // The greeting as the caller heard it, recognized again.
    const greeting = result.prompts[0]!;
    const audio = result.recording.subarray(Math.round(greeting.start * 8000), Math.round(greeting.end * 8000));
    const recognizer = createLocalRecognizer({ ...offlineOptions!, concurrency: 1 }, pino({ level: 'silent' }));
    try {
      const heard = await recognizer.recognize(decodeMulaw(audio), { language: 'en-US', sampleRate: 8000, signal: new AbortController().signal });
      const sent = new Set(words(DEMO_PROMPTS.greeting));
      const got = words(heard.text);
      const matched = got.filter((w) => sent.has(w)).length;
      expect(matched / sent.size).toBeGreaterThanOrEqual(0.5);
    } finally {
      await recognizer.close();
    }
  }, 90_000);
});
