/**
 * What the server needs for voice-bot sessions: the bot of each connector id (one HTTP client per
 * bot) and the synthesizers. A session asks it at `open` whether its connector can be served.
 */
import type { OpenParameters } from '../protocol/messages.js';
import type { SpeechSynthesizer, SynthesizerRegistry } from '../synthesis/types.js';
import type { BotClient, BotEndpoint } from './bot/types.js';
import { createBotClient } from './bot/webhook.js';
import { VoiceBotConversation, type ConversationInit } from './conversation.js';
import { botFor, type VoiceBotOptions } from './options.js';

export interface BotPlan {
  endpoint: BotEndpoint;
  client: BotClient;
  synthesizer: SpeechSynthesizer;
  voice: string | undefined;
}

export interface VoiceBotService {
  readonly options: VoiceBotOptions;
  /** The bot and synthesizer for a connector id, or the `disconnect` info that says why not. */
  plan(connectorId: string): { ok: true; plan: BotPlan } | { ok: false; info: string };
}

export function createVoiceBotService(
  options: VoiceBotOptions,
  synthesizers: SynthesizerRegistry,
  deps: { demoUrl?: string | undefined; fetch?: typeof fetch } = {},
): VoiceBotService {
  const clients = new Map<BotEndpoint, BotClient>();
  const clientFor = (endpoint: BotEndpoint) => {
    let client = clients.get(endpoint);
    if (!client) {
      client = createBotClient(endpoint, { timeoutMs: options.botTimeoutMs, ...(deps.fetch ? { fetch: deps.fetch } : {}) });
      clients.set(endpoint, client);
    }
    return client;
  };
  // One endpoint object for the demo bot, so that it gets one client like the configured bots.
  const demo: BotEndpoint | undefined = deps.demoUrl ? { url: deps.demoUrl, format: 'webhook' } : undefined;
  return {
    options,
    plan(connectorId) {
      const endpoint = botFor(options, connectorId, demo);
      if (!endpoint) {
        const name = connectorId === '' ? 'no connector id' : `unknown connector id '${connectorId.slice(0, 64)}'`;
        return { ok: false, info: `${name}: no bot is configured for it (BOTS, BOT_WEBHOOK_URL)` };
      }
      const synth = synthesizers.resolve(endpoint.tts);
      if (!synth.ok) return { ok: false, info: `speech synthesis not available: ${synth.reason}` };
      return { ok: true, plan: { endpoint, client: clientFor(endpoint), synthesizer: synth.synthesizer, voice: endpoint.voice } };
    },
  };
}

/**
 * A session's conversation with its connector's bot, from what `open` said: who calls, the
 * Architect inputs, the session language. `io` is how it reaches the call (audio, events, the end).
 */
export function startConversation(
  plan: BotPlan,
  options: VoiceBotOptions,
  call: { sessionId: string; connectorId: string; open: OpenParameters; language: string },
  io: Pick<ConversationInit, 'sendAudio' | 'sendEvent' | 'complete' | 'fail' | 'log' | 'metrics'>,
): VoiceBotConversation {
  const participant = call.open.participant;
  const conversation = new VoiceBotConversation({
    request: {
      sessionId: call.sessionId,
      conversationId: call.open.conversationId,
      connectorId: call.connectorId,
      language: call.language,
      inputVariables: call.open.inputVariables ?? {},
      caller: { ani: participant?.ani ?? '', aniName: participant?.aniName ?? '', dnis: participant?.dnis ?? '' },
    },
    bot: plan.client,
    synthesizer: plan.synthesizer,
    voice: plan.voice,
    options,
    ...io,
  });
  io.log.info({ bot: plan.endpoint.format, synthesizer: plan.synthesizer.name }, 'voice bot started');
  conversation.start();
  return conversation;
}
