/**
 * The soak's chart as a self-contained SVG (no dependency): three panels over time — memory (RSS,
 * heap), handles (active resources, timers, open fds), event-loop delay (p99, max) — one polyline
 * per series, with the load's start, the end of warm-up and the end of the sessions marked.
 */
import { clock } from './checks.js';
import type { SoakSample } from './sample.js';

export interface ChartOptions {
  title: string;
  /** Seconds of load (sessions end after it) and of warm-up, on the samples' time axis. */
  runSeconds: number;
  warmupSeconds: number;
}

interface Series {
  id: string;
  label: string;
  color: string;
  value: (s: SoakSample) => number;
}

const MiB = 1024 * 1024;
const PANELS: Array<{ title: string; series: Series[] }> = [
  {
    title: 'memory, MiB',
    series: [
      { id: 'rss', label: 'RSS', color: '#1f77b4', value: (s) => s.rssBytes / MiB },
      { id: 'heap', label: 'heap used', color: '#2ca02c', value: (s) => s.heapUsedBytes / MiB },
    ],
  },
  {
    title: 'handles',
    series: [
      { id: 'handles', label: 'active resources', color: '#9467bd', value: (s) => s.activeResources },
      { id: 'fds', label: 'open fds', color: '#8c564b', value: (s) => s.openFds },
      { id: 'timers', label: 'timers', color: '#ff7f0e', value: (s) => s.timers },
    ],
  },
  {
    title: 'event-loop delay, ms',
    series: [
      { id: 'loop-p99', label: 'p99', color: '#d62728', value: (s) => s.loopP99Ms },
      { id: 'loop-max', label: 'max', color: '#e377c2', value: (s) => s.loopMaxMs },
    ],
  },
];

/** Every series the chart draws, by id (the test checks there is a polyline for each). */
export const SERIES_IDS = PANELS.flatMap((p) => p.series.map((s) => s.id));

const W = 960;
const LEFT = 64;
const RIGHT = 170;
const TOP = 56;
const PANEL_H = 170;
const GAP = 44;
const H = TOP + PANELS.length * (PANEL_H + GAP) + 10;

const esc = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (n: number): string => String(Math.round(n * 10) / 10);

/** 1, 2 or 5 × 10^k, the smallest at least `raw`. */
function niceStep(raw: number): number {
  if (!(raw > 0)) return 1;
  const pow = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * pow >= raw - 1e-12) ?? 10) * pow;
}

/** Seconds between x ticks: whole seconds and minutes people read at a glance. */
function timeStep(span: number): number {
  return [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600].find((s) => span / s <= 10) ?? 3600;
}

export function soakSvg(samples: readonly SoakSample[], o: ChartOptions): string {
  const ts = samples.map((s) => s.t);
  const t0 = Math.min(0, ...ts);
  const t1 = Math.max(o.runSeconds, ...ts, t0 + 1);
  const plotW = W - LEFT - RIGHT;
  const x = (t: number): number => LEFT + ((t - t0) / (t1 - t0)) * plotW;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="22" font-size="15" font-weight="bold">${esc(o.title)}</text>`,
    `<text x="${LEFT}" y="40" fill="#555">time since the last session opened (m:ss); shaded: warm-up; dashed: sessions streaming, end of warm-up, sessions ended</text>`,
  ];
  PANELS.forEach((panel, i) => {
    const top = TOP + i * (PANEL_H + GAP) + 14;
    const bottom = top + PANEL_H;
    const values = panel.series.flatMap((s) => samples.map(s.value)).filter(Number.isFinite);
    const step = niceStep(Math.max(...values, 1e-9) / 4);
    const yMax = step * Math.max(1, Math.ceil(Math.max(...values, 0) / step));
    const y = (v: number): number => bottom - (v / yMax) * PANEL_H;
    out.push(`<g data-panel="${esc(panel.title)}">`, `<text x="${LEFT}" y="${top - 6}" font-weight="bold">${esc(panel.title)}</text>`);
    out.push(`<rect x="${num(x(0))}" y="${top}" width="${num(x(Math.min(o.warmupSeconds, t1)) - x(0))}" height="${PANEL_H}" fill="#f2f2f2"/>`);
    for (let v = 0; v <= yMax + 1e-9; v += step) {
      out.push(
        `<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${num(y(v))}" y2="${num(y(v))}" stroke="#ddd"/>`,
        `<text x="${LEFT - 6}" y="${num(y(v) + 4)}" text-anchor="end">${esc(num(v))}</text>`,
      );
    }
    const tStep = timeStep(t1 - t0);
    for (let t = Math.ceil(t0 / tStep) * tStep; t <= t1 + 1e-9; t += tStep) {
      out.push(`<text x="${num(x(t))}" y="${bottom + 14}" text-anchor="middle">${esc(clock(t))}</text>`);
    }
    for (const t of [0, o.warmupSeconds, o.runSeconds]) {
      out.push(`<line x1="${num(x(t))}" x2="${num(x(t))}" y1="${top}" y2="${bottom}" stroke="#888" stroke-dasharray="4 3"/>`);
    }
    out.push(`<rect x="${LEFT}" y="${top}" width="${plotW}" height="${PANEL_H}" fill="none" stroke="#444"/>`);
    panel.series.forEach((s, k) => {
      const points = samples
        .filter((p) => Number.isFinite(s.value(p)))
        .map((p) => `${num(x(p.t))},${num(y(s.value(p)))}`)
        .join(' ');
      out.push(`<polyline data-series="${s.id}" fill="none" stroke="${s.color}" stroke-width="1.8" points="${points}"/>`);
      // Dots on the samples: between two of them the line is a guess (the ramp, the closing).
      out.push(`<g fill="${s.color}">${points.split(' ').filter(Boolean).map((p) => `<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="2"/>`).join('')}</g>`);
      const ly = top + 14 + k * 16;
      out.push(
        `<line x1="${W - RIGHT + 14}" x2="${W - RIGHT + 34}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"/>`,
        `<text x="${W - RIGHT + 40}" y="${ly}">${esc(s.label)}</text>`,
      );
    });
    out.push('</g>');
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
