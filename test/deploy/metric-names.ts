/**
 * The Prometheus metrics the server exports at GET /metrics, as the dashboard and the alert rules
 * in deploy/ may use them: name, type, and labels (with their values where the set is closed).
 * Kept by hand, and checked against the server's own registry (monitoring.test.ts).
 */
export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricSpec {
  type: MetricType;
  /** Label name → its values, or null where any value is possible. */
  labels: Readonly<Record<string, readonly string[] | null>>;
}

export const METRICS: Readonly<Record<string, MetricSpec>> = {
  audiohook_sessions_active: { type: 'gauge', labels: { engine: null } },
  audiohook_sessions_total: { type: 'counter', labels: { engine: null, outcome: ['closed', 'completed', 'error', 'refused', 'dropped'] } },
  audiohook_probes_total: { type: 'counter', labels: { outcome: ['ok', 'refused'] } },
  audiohook_upgrades_rejected_total: {
    type: 'counter',
    labels: { reason: ['not_found', 'draining', 'capacity', 'unauthorized', 'bad_request'] },
  },
  audiohook_events_sent_total: { type: 'counter', labels: { kind: ['final', 'interim'] } },
  audiohook_events_queued: { type: 'gauge', labels: {} },
  audiohook_events_coalesced_total: { type: 'counter', labels: {} },
  audiohook_events_undelivered_total: { type: 'counter', labels: { why: null } },
  audiohook_client_rate_limited_total: { type: 'counter', labels: {} },
  audiohook_client_rate_limited_held_seconds_total: { type: 'counter', labels: {} },
  audiohook_engine_errors_total: { type: 'counter', labels: { engine: null, retryable: ['true', 'false'] } },
  audiohook_engine_restarts_total: { type: 'counter', labels: { engine: null, kind: ['restart', 'rotation'] } },
  audiohook_engine_failovers_total: { type: 'counter', labels: { from: null, to: null } },
  audiohook_translations_total: { type: 'counter', labels: { outcome: ['translated', 'skipped', 'timeout', 'failed'] } },
  audiohook_translation_duration_seconds: { type: 'histogram', labels: {} },
  audiohook_transcript_latency_seconds: { type: 'histogram', labels: {} },
  audiohook_open_latency_seconds: { type: 'histogram', labels: {} },
  audiohook_protocol_errors_total: { type: 'counter', labels: { kind: null } },
  audiohook_draining: { type: 'gauge', labels: {} },
  audiohook_voicebot_turns_total: { type: 'counter', labels: { event: ['start', 'utterance', 'dtmf', 'no_input', 'end'] } },
  audiohook_voicebot_turn_latency_seconds: { type: 'histogram', labels: { part: ['total', 'bot', 'synthesis'] } },
  audiohook_voicebot_barge_ins_total: { type: 'counter', labels: { outcome: ['committed', 'false_alarm'] } },
  audiohook_voicebot_bot_failures_total: { type: 'counter', labels: { kind: ['timeout', 'http', 'network', 'bad-reply', 'aborted', 'internal'] } },
  audiohook_voicebot_synthesis_failures_total: { type: 'counter', labels: { synthesizer: null } },
  // prom-client's default metrics (those the dashboard uses).
  process_cpu_seconds_total: { type: 'counter', labels: {} },
  process_resident_memory_bytes: { type: 'gauge', labels: {} },
  nodejs_eventloop_lag_p99_seconds: { type: 'gauge', labels: {} },
  nodejs_heap_size_used_bytes: { type: 'gauge', labels: {} },
  nodejs_active_handles_total: { type: 'gauge', labels: {} },
};

/** Labels Prometheus itself attaches to every scraped series. */
export const TARGET_LABELS: readonly string[] = ['instance', 'job'];
