/**
 * The Prometheus figures served at GET /metrics (prom-client). Label sets stay small and fixed
 * (engine, outcome, reason, kind): never a session id. In cluster mode each worker keeps its own
 * registry and the primary sums them (see cluster.ts).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Figures read at scrape time from the live sessions rather than counted as they change. */
export interface LiveFigures {
  sessionsByEngine(): ReadonlyMap<string, number>;
  eventsQueued(): number;
  draining(): boolean;
}

export type UpgradeRejection = 'not_found' | 'draining' | 'capacity' | 'unauthorized' | 'bad_request';

export function createPrometheus(live: LiveFigures) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  new Gauge({
    name: 'audiohook_sessions_active',
    help: 'Sessions connected now, by engine (none: not opened yet)',
    labelNames: ['engine'] as const,
    registers,
    collect() {
      this.reset();
      for (const [engine, n] of live.sessionsByEngine()) this.set({ engine }, n);
    },
  });
  new Gauge({
    name: 'audiohook_events_queued',
    help: 'Transcript events waiting for their turn under the 5 msg/s limit or a 429 hold',
    registers,
    collect() {
      this.set(live.eventsQueued());
    },
  });
  new Gauge({
    name: 'audiohook_draining',
    help: '1 while the instance drains (SIGTERM): no new sessions',
    registers,
    aggregator: 'max',
    collect() {
      this.set(live.draining() ? 1 : 0);
    },
  });
  return {
    registry,
    sessions: new Counter({
      name: 'audiohook_sessions_total',
      help: 'Sessions ended, by engine and outcome (closed, completed, error, refused, dropped)',
      labelNames: ['engine', 'outcome'] as const,
      registers,
    }),
    probes: new Counter({
      name: 'audiohook_probes_total',
      help: 'Connection probes, by outcome (ok, refused)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    upgradesRejected: new Counter({
      name: 'audiohook_upgrades_rejected_total',
      help: 'WebSocket upgrades refused, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    eventsSent: new Counter({
      name: 'audiohook_events_sent_total',
      help: 'Transcript events sent, by kind (final, interim)',
      labelNames: ['kind'] as const,
      registers,
    }),
    eventsCoalesced: new Counter({
      name: 'audiohook_events_coalesced_total',
      help: 'Queued interims replaced by a newer hypothesis or their final, or shed under backlog',
      registers,
    }),
    eventsUndelivered: new Counter({
      name: 'audiohook_events_undelivered_total',
      help: 'Transcript events that could not be delivered, by why',
      labelNames: ['why'] as const,
      registers,
    }),
    rateLimited: new Counter({
      name: 'audiohook_client_rate_limited_total',
      help: '429 answers received from the client (Genesys)',
      registers,
    }),
    rateLimitedHeld: new Counter({
      name: 'audiohook_client_rate_limited_held_seconds_total',
      help: 'Time events were held because of 429 answers',
      registers,
    }),
    engineErrors: new Counter({
      name: 'audiohook_engine_errors_total',
      help: 'Engine stream failures, by engine and whether they are retried',
      labelNames: ['engine', 'retryable'] as const,
      registers,
    }),
    engineRestarts: new Counter({
      name: 'audiohook_engine_restarts_total',
      help: 'Engine streams replaced, by engine and kind (restart after a failure, rotation before the vendor limit)',
      labelNames: ['engine', 'kind'] as const,
      registers,
    }),
    engineFailovers: new Counter({
      name: 'audiohook_engine_failovers_total',
      help: 'Sessions whose engine could not recover and that went on with the fallback engine',
      labelNames: ['from', 'to'] as const,
      registers,
    }),
    protocolErrors: new Counter({
      name: 'audiohook_protocol_errors_total',
      help: 'Protocol violations by clients, by kind',
      labelNames: ['kind'] as const,
      registers,
    }),
    translations: new Counter({
      name: 'audiohook_translations_total',
      help: 'Finals through translation, by outcome (timeout and failed: the source text was sent)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    translationSeconds: new Histogram({
      name: 'audiohook_translation_duration_seconds',
      help: 'Translation time of a final, from recognition to the translated text',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers,
    }),
    transcriptLatency: new Histogram({
      name: 'audiohook_transcript_latency_seconds',
      help: 'The audio frame (or engine answer) that produced a final to its event sent: queueing, rate limit and translation included',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers,
    }),
    botTurns: new Counter({
      name: 'audiohook_voicebot_turns_total',
      help: 'Voice-bot turns the bot answered, by event (start, utterance, dtmf, no_input)',
      labelNames: ['event'] as const,
      registers,
    }),
    botTurnLatency: new Histogram({
      name: 'audiohook_voicebot_turn_latency_seconds',
      help: "End of the caller's speech (or last key) to the bot's first audio frame (total), and the bot's and synthesis' own parts",
      labelNames: ['part'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10],
      registers,
    }),
    bargeIns: new Counter({
      name: 'audiohook_voicebot_barge_ins_total',
      help: 'Caller interruptions of bot prompts, by outcome (committed; false_alarm: the prompt resumed)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    botFailures: new Counter({
      name: 'audiohook_voicebot_bot_failures_total',
      help: 'Bot turns that failed, by kind (timeout, http, network, bad-reply)',
      labelNames: ['kind'] as const,
      registers,
    }),
    synthesisFailures: new Counter({
      name: 'audiohook_voicebot_synthesis_failures_total',
      help: 'Prompts speech synthesis could not make, by synthesizer',
      labelNames: ['synthesizer'] as const,
      registers,
    }),
    openLatency: new Histogram({
      name: 'audiohook_open_latency_seconds',
      help: 'open received to opened sent',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
  };
}

export type Prometheus = ReturnType<typeof createPrometheus>;
