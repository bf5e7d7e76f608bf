/** deploy/grafana and deploy/prometheus: every query against the metrics the server exports. */
import { describe, expect, it } from 'vitest';
import { read, yamlDocuments } from './helpers.js';
import { METRICS } from './metric-names.js';
import { problems, selectors } from './promql.js';
import { createPrometheus } from '../../src/server/prometheus.js';

describe('the metric list', () => {
  it("is the server's registry: every name, type and label, and the default metrics it relies on", async () => {
    const { registry } = createPrometheus({ sessionsByEngine: () => new Map(), eventsQueued: () => 0, draining: () => false });
    const exported = new Map((await registry.getMetricsAsJSON()).map((m) => [m.name, m]));
    const ours = [...exported.keys()].filter((n) => n.startsWith('audiohook_')).sort();
    expect(ours).toEqual(Object.keys(METRICS).filter((n) => n.startsWith('audiohook_')).sort());
    for (const [name, spec] of Object.entries(METRICS)) {
      expect(exported.get(name)?.type, name).toBe(spec.type);
      // prom-client keeps a metric's declared label names on the metric object.
      const declared = (registry.getSingleMetric(name) as unknown as { labelNames: string[] }).labelNames;
      if (name.startsWith('audiohook_')) expect([...declared].sort(), name).toEqual(Object.keys(spec.labels).sort());
    }
  });
});

describe('the query checker', () => {
  it('accepts queries that fit the exported metrics', () => {
    expect(problems('sum by (outcome) (rate(audiohook_sessions_total{outcome="error",instance=~"$instance"}[$__rate_interval]))')).toEqual([]);
    expect(problems('histogram_quantile(0.99, sum by (le) (rate(audiohook_transcript_latency_seconds_bucket[5m]))) > 2')).toEqual([]);
    expect(problems('max by (instance) (nodejs_eventloop_lag_p99_seconds) > 0.2')).toEqual([]);
  });

  it('finds unknown metrics, labels and label values', () => {
    expect(problems('sum(audiohook_session_active)')).toEqual(['unknown metric audiohook_session_active']);
    expect(problems('sum(rate(audiohook_sessions_total{reason="x"}[5m]))')).toEqual(['audiohook_sessions_total has no label reason']);
    expect(problems('sum(rate(audiohook_sessions_total{outcome=~"error|failed"}[5m]))')).toEqual([
      "audiohook_sessions_total{outcome} has no value 'failed' (closed, completed, error, refused, dropped)",
    ]);
    expect(problems('sum by (reason) (audiohook_sessions_active)')).toEqual(['groups by reason, a label none of its metrics has']);
  });

  it('finds counters and histograms used as gauges, and gauges as counters', () => {
    expect(problems('sum(audiohook_events_sent_total)')).toEqual(['audiohook_events_sent_total is a cumulative counter: use rate() or increase()']);
    expect(problems('rate(audiohook_events_queued[5m])')).toEqual(['audiohook_events_queued is a gauge: rate()/increase() need a counter']);
    expect(problems('audiohook_open_latency_seconds')).toEqual(['unknown metric audiohook_open_latency_seconds']);
    expect(problems('histogram_quantile(0.5, sum (rate(audiohook_open_latency_seconds_bucket[5m])))')).toEqual(['histogram_quantile() without grouping by le']);
    expect(problems('sum(rate(audiohook_open_latency_seconds_bucket[5m]))')).toEqual(['audiohook_open_latency_seconds_bucket outside histogram_quantile()']);
  });

  it('finds unknown functions and broken brackets', () => {
    expect(problems('summ(audiohook_draining)')).toEqual(['unknown function summ()']);
    expect(problems('sum(audiohook_draining')).toContain('unbalanced brackets in sum(audiohook_draining');
  });
});

interface Target {
  expr: string;
  datasource?: { type: string; uid: string };
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
}

interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  templating: { list: Array<{ name: string; type: string; query: unknown; datasource?: { uid: string } }> };
  panels: Panel[];
}

const dashboard = JSON.parse(read('deploy/grafana/audiohook-connector.json')) as Dashboard;
const graphs = dashboard.panels.filter((p) => p.type !== 'row');
const queries = graphs.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));
const DATASOURCE = { type: 'prometheus', uid: '${DS_PROMETHEUS}' };

describe('Grafana dashboard', () => {
  it('is a current dashboard with a Prometheus data source variable and an instance variable', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    const vars = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, v]));
    expect(vars['DS_PROMETHEUS']).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(vars['instance']).toMatchObject({ type: 'query', datasource: DATASOURCE });
    expect(JSON.stringify(vars['instance']?.query)).toMatch(/label_values\(audiohook_[a-z_]+, instance\)/);
  });

  it('reads every panel from the Prometheus variable, filtered by instance', () => {
    expect(graphs.length).toBeGreaterThanOrEqual(15);
    for (const p of graphs) {
      expect(p.datasource, p.title).toEqual(DATASOURCE);
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
    }
    for (const q of queries) {
      expect(q.datasource, q.panel).toEqual(DATASOURCE);
      for (const s of selectors(q.expr)) {
        expect(s.matchers, `${q.panel}: ${s.name}`).toContainEqual({ label: 'instance', op: '=~', value: '$instance' });
      }
    }
  });

  it('queries only exported metrics, their labels and values, each as its type allows', () => {
    for (const q of queries) expect(problems(q.expr), `${q.panel}: ${q.expr}`).toEqual([]);
  });

  it('shows every exported metric', () => {
    const used = new Set(queries.flatMap((q) => selectors(q.expr).map((s) => s.name.replace(/_(bucket|sum|count)$/, ''))));
    expect(Object.keys(METRICS).filter((m) => !used.has(m))).toEqual([]);
  });

  it('lays panels out without overlap, with unique ids', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const boxes = dashboard.panels.map((p) => p.gridPos);
    for (const [i, a] of boxes.entries()) {
      expect(a.x + a.w).toBeLessThanOrEqual(24);
      for (const b of boxes.slice(i + 1)) {
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `${JSON.stringify(a)} / ${JSON.stringify(b)}`).toBe(false);
      }
    }
  });
});

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description?: string };
}

const [alertFile] = yamlDocuments('deploy/prometheus/alerts.yaml') as [{ groups: Array<{ name: string; rules: Rule[] }> }];
const rules = alertFile.groups.flatMap((g) => g.rules);

describe('Prometheus alert rules', () => {
  it('are well-formed rules with unique names, a severity and a summary', () => {
    expect(rules.length).toBeGreaterThanOrEqual(6);
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const r of rules) {
      expect(r.alert, JSON.stringify(r)).toMatch(/^[A-Z][A-Za-z0-9]+$/);
      expect(['critical', 'warning', 'info'], r.alert).toContain(r.labels.severity);
      expect(r.annotations.summary, r.alert).toBeTruthy();
      if (r.for !== undefined) expect(r.for, r.alert).toMatch(/^\d+[smh]$/);
    }
  });

  it('query only exported metrics, their labels and values, each as its type allows', () => {
    for (const r of rules) expect(problems(r.expr), `${r.alert}: ${r.expr}`).toEqual([]);
  });

  it('watch lost transcripts, engine errors, latency, event-loop lag and capacity', () => {
    const exprOf = (metric: string) => rules.filter((r) => r.expr.includes(metric)).map((r) => r.expr.replace(/\s+/g, ' '));
    expect(exprOf('audiohook_events_undelivered_total').some((e) => /> 0$/.test(e.trim()))).toBe(true);
    expect(exprOf('audiohook_engine_errors_total').length).toBeGreaterThan(0);
    expect(exprOf('audiohook_transcript_latency_seconds_bucket').some((e) => /histogram_quantile\(0\.99,.*> 2$/.test(e.trim()))).toBe(true);
    expect(exprOf('nodejs_eventloop_lag_p99_seconds').some((e) => /> 0\.2$/.test(e.trim()))).toBe(true);
    expect(exprOf('audiohook_sessions_active').length).toBeGreaterThan(0);
    expect(exprOf('audiohook_upgrades_rejected_total').some((e) => /capacity/.test(e))).toBe(true);
  });
});
