/**
 * The turn logic of a voice-bot call, on a virtual clock: a scripted bot and a synthesizer that
 * makes silence of a length proportional to the text. (The end-to-end behaviour through the real
 * server, flite and the Genesys-like caller is in call/barge-in/turns tests.)
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BotError, type BotReply, type BotRequest } from '../../src/voicebot/bot/types.js';
import { VoiceBotConversation, type ConversationInit } from '../../src/voicebot/conversation.js';
import type { VoiceBotOptions } from '../../src/voicebot/options.js';
import { SynthesisError, type SpeechSynthesizer } from '../../src/synthesis/types.js';

const OPTIONS: VoiceBotOptions = {
  path: '/audioconnector',
  bots: new Map(),
  defaultBot: undefined,
  demoBot: false,
  botTimeoutMs: 5000,
  maxBotFailures: 2,
  fallbackPrompt: 'fallback',
  noInputMs: 5000,
  turnEvents: true,
  audio: { leadFrames: 3, perSecond: 5, burst: 25 },
  endMarginMs: 1000,
  bargeIn: { enabled: true, softMs: 200, confirmMs: 500, resumeMs: 2000 },
  dtmf: { terminator: '#', interDigitMs: 2000, maxDigits: 16 },
};

/** 100 ms of µ-law per character of text: "hello" is half a second. */
const synthesizer = (fail = false): SpeechSynthesizer => ({
  name: 'fake',
  async *synthesize({ text }) {
    if (fail) throw new SynthesisError('no voice', false);
    yield new Uint8Array(text.length * 800).fill(0xff);
  },
});

type Answer = Partial<BotReply> | Error;

function setup(answers: (req: BotRequest) => Answer, over: Partial<ConversationInit> = {}) {
  const requests: BotRequest[] = [];
  const events: { type: string; data: any; urgent: boolean }[] = [];
  const frames: number[] = [];
  const ended: { completed?: Record<string, string>; failed?: string } = {};
  const conversation = new VoiceBotConversation({
    request: { sessionId: 's', conversationId: 'c', connectorId: 'x', language: 'en-US', inputVariables: {}, caller: { ani: '', aniName: '', dnis: '' } },
    bot: {
      ask: async (req) => {
        requests.push(req);
        const a = answers(req);
        if (a instanceof Error) throw a;
        return { say: [], end: false, outputVariables: {}, bargeIn: true, ...a };
      },
    },
    synthesizer: synthesizer(),
    voice: undefined,
    options: OPTIONS,
    sendAudio: () => frames.push(Date.now()),
    sendEvent: (e, urgent) => events.push({ ...e, urgent } as never),
    complete: (v) => (ended.completed = v),
    fail: (info) => (ended.failed = info),
    log: pino({ level: 'silent' }),
    metrics: {},
    ...over,
  });
  return { conversation, requests, events, frames, ended };
}

/** Lets the bot's promise and the synthesis loop run, then moves the clock. */
async function advance(ms: number) {
  await vi.advanceTimersByTimeAsync(ms);
}

describe('VoiceBotConversation', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('greets, listens after the prompt has played, and sends the caller turn', async () => {
    const t = setup((r) => (r.event === 'start' ? { say: ['hello'] } : { say: ['answer'] }));
    t.conversation.start();
    await advance(0);
    expect(t.conversation.turnState).toBe('speaking');
    await advance(400);
    expect(t.frames.length).toBe(3); // hello = 500 ms = 3 frames
    // Played by our clock (no playback events from this client): listening.
    await advance(300);
    expect(t.conversation.turnState).toBe('listening');
    t.conversation.transcript('what are your hours', 0.8, true);
    await advance(0);
    expect(t.requests.map((r) => [r.event, r.turn, r.text])).toEqual([
      ['start', 1, undefined],
      ['utterance', 2, 'what are your hours'],
    ]);
    expect(t.events).toEqual([{ type: 'bot_turn_response', data: { disposition: 'match', text: 'answer', confidence: 0.8 }, urgent: false }]);
  });

  it('with playback events, waits for playback_completed (or its margin) before listening', async () => {
    const t = setup((r) => (r.event === 'start' ? { say: ['hello'] } : {}));
    t.conversation.start();
    t.conversation.playbackStarted();
    await advance(700);
    expect(t.conversation.turnState).toBe('speaking');
    t.conversation.playbackCompleted();
    expect(t.conversation.turnState).toBe('listening');
  });

  it('holds what the caller says while the bot thinks, and sends it once the answer has played', async () => {
    let release: (() => void) | undefined;
    const t = setup((r) => (r.event === 'start' ? {} : r.turn === 2 ? { say: ['ok'] } : { say: ['second'] }));
    const ask = t.conversation['init'].bot.ask;
    t.conversation['init'].bot.ask = async (req, signal) => {
      if (req.turn === 2) await new Promise<void>((resolve) => (release = resolve));
      return ask(req, signal);
    };
    t.conversation.start();
    await advance(0);
    t.conversation.transcript('first', 0.9, true);
    await advance(0);
    expect(t.conversation.turnState).toBe('waiting');
    t.conversation.transcript('and another', 0.9, true);
    t.conversation.transcript('thing', 0.7, true);
    release!();
    await advance(0);
    expect(t.requests.length).toBe(2);
    await advance(1000);
    expect(t.requests.map((r) => r.text)).toEqual([undefined, 'first', 'and another thing']);
    expect(t.requests[2]!.confidence).toBe(0.7);
  });

  it('a failed turn plays the fallback; failures in a row end the call; a success resets the count', async () => {
    let n = 0;
    const t = setup((r) => {
      if (r.event === 'start') return {};
      n += 1;
      return n === 2 ? { say: ['fine'] } : new BotError('bot answered HTTP 500', 'http');
    });
    t.conversation.start();
    await advance(0);
    t.conversation.transcript('one', 1, true);
    await advance(0);
    expect(t.conversation.turnState).toBe('speaking'); // the fallback
    await advance(2000);
    t.conversation.transcript('two', 1, true);
    await advance(2000);
    t.conversation.transcript('three', 1, true);
    await advance(100);
    expect(t.ended.failed).toBeUndefined(); // one failure since the success
    await advance(2000);
    t.conversation.transcript('four', 1, true);
    await advance(100);
    expect(t.ended.failed).toBe('bot unavailable: bot answered HTTP 500');
    expect(t.conversation.turnState).toBe('over');
  });

  it('a bot that fails its start ends the call at once', async () => {
    const t = setup(() => new BotError('bot did not answer within 5000 ms', 'timeout'));
    t.conversation.start();
    await advance(0);
    expect(t.ended.failed).toBe('bot unavailable: bot did not answer within 5000 ms');
  });

  it('speech synthesis that fails ends the call with an error', async () => {
    const t = setup(() => ({ say: ['hello'] }), { synthesizer: synthesizer(true) });
    t.conversation.start();
    await advance(0);
    expect(t.ended.failed).toBe('speech synthesis failed');
  });

  it('an uninterruptible prompt is not barged in: the words wait for the next turn', async () => {
    const t = setup((r) => (r.event === 'start' ? { say: ['a rather long prompt here'], bargeIn: false } : {}));
    t.conversation.start();
    await advance(500);
    t.conversation.transcript('hello', 1, true);
    t.conversation.digit('5');
    await advance(0);
    expect(t.events.filter((e) => e.type === 'barge_in')).toEqual([]);
    expect(t.requests.length).toBe(1);
    await advance(5000);
    // Keys win over the words said around them.
    expect(t.requests.map((r) => r.event)).toEqual(['start', 'dtmf']);
    expect(t.requests[1]!.digits).toBe('5');
  });

  it('a recognized word over an interruptible prompt barges in once, urgently, and tells the bot what was heard', async () => {
    const t = setup((r) => (r.event === 'start' ? { say: ['twenty characters..'] } : {}));
    t.conversation.start();
    await advance(1000);
    t.conversation.transcript('wait', 0.9, false);
    t.conversation.transcript('wait a moment', 0.9, true);
    await advance(0);
    expect(t.events.filter((e) => e.type === 'barge_in')).toEqual([{ type: 'barge_in', data: {}, urgent: true }]);
    const framesAtBarge = t.frames.length;
    await advance(3000);
    expect(t.frames.length).toBe(framesAtBarge);
    const turn = t.requests[1]!;
    expect(turn.text).toBe('wait a moment');
    expect(turn.bargeIn).toMatchObject({ promptMs: framesAtBarge * 200 });
    expect(turn.bargeIn!.heardMs).toBeGreaterThanOrEqual(800);
    expect(turn.bargeIn!.heardMs).toBeLessThanOrEqual(1000);
  });

  it('ends after the last prompt: on playback_completed, else its play-out plus the margin', async () => {
    const t = setup((r) => (r.event === 'start' ? { say: ['bye'], end: true, outputVariables: { a: '1' } } : {}));
    t.conversation.start();
    await advance(300); // bye = 300 ms: 2 frames, played out at 400 ms
    expect(t.ended.completed).toBeUndefined();
    await advance(1200); // the margin (1 s) after our play-out clock (400 ms)
    expect(t.ended.completed).toEqual({ a: '1' });
    const u = setup((r) => (r.event === 'start' ? { say: ['bye'], end: true } : {}));
    u.conversation.start();
    u.conversation.playbackStarted();
    await advance(400);
    u.conversation.playbackCompleted();
    expect(u.ended.completed).toEqual({});
  });

  it('a language change reaches the bot with the next turn', async () => {
    const t = setup(() => ({}));
    t.conversation.start();
    await advance(0);
    t.conversation.setLanguage('en-GB');
    t.conversation.transcript('hello', 1, true);
    await advance(0);
    expect(t.requests.map((r) => r.language)).toEqual(['en-US', 'en-GB']);
  });

  it('a hold freezes the no-input timer', async () => {
    const t = setup((r) => (r.event === 'start' ? {} : { say: ['hm'] }));
    t.conversation.start();
    await advance(3000);
    t.conversation.pause();
    await advance(60_000);
    expect(t.requests.length).toBe(1);
    t.conversation.resume();
    await advance(2000);
    expect(t.requests.map((r) => r.event)).toEqual(['start', 'no_input']);
    expect(t.events[0]!.data).toMatchObject({ disposition: 'no_input', confidence: 0 });
  });
});
