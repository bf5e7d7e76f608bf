/**
 * Just enough PromQL reading to check the dashboard's and the alert rules' queries against the
 * metrics the server exports (metric-names.ts): which series they select with which label
 * matchers, what they group by, and whether counters and histograms are used the way their type
 * allows. Not a parser: it relies on the queries' plain shape (no strings containing braces).
 */
import { METRICS, TARGET_LABELS, type MetricSpec } from './metric-names.js';

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface Selector {
  /** As written: may carry a histogram suffix (_bucket, _sum, _count). */
  name: string;
  matchers: Matcher[];
  /** Offset in the expression. */
  at: number;
}

const AGGREGATIONS = ['sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group'];
const FUNCTIONS = [
  'rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'histogram_quantile', 'abs', 'ceil', 'floor', 'round', 'clamp',
  'clamp_min', 'clamp_max', 'absent', 'absent_over_time', 'avg_over_time', 'max_over_time', 'min_over_time', 'sum_over_time',
  'count_over_time', 'quantile_over_time', 'last_over_time', 'label_replace', 'label_join', 'vector', 'scalar', 'time', 'sort', 'sort_desc',
];
const KEYWORDS = ['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset'];
const COUNTER_FUNCTIONS = ['rate', 'irate', 'increase'];
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];
const GROUPING = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;

/** Every series selector of the expression, with or without braces. */
export function selectors(expr: string): Selector[] {
  const found: Selector[] = [];
  const covered: Array<[number, number]> = [];
  // Named selectors with matchers, and the grouping lists that look like them.
  for (const m of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}/g)) {
    covered.push([m.index, m.index + m[0].length]);
    found.push({ name: m[1]!, matchers: matchers(m[2]!), at: m.index });
  }
  for (const m of expr.matchAll(GROUPING)) covered.push([m.index, m.index + m[0].length]);
  const blanked = blank(expr, covered);
  for (const m of blanked.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const before = blanked[m.index - 1];
    if (before === '$' || (before !== undefined && /[a-zA-Z0-9_.]/.test(before))) continue; // $vars, 1e3, 0.99
    const name = m[0];
    if (KEYWORDS.includes(name) || AGGREGATIONS.includes(name) || FUNCTIONS.includes(name)) continue;
    if (/^\s*\(/.test(blanked.slice(m.index + name.length))) continue; // a function call
    found.push({ name, matchers: [], at: m.index });
  }
  return found.sort((a, b) => a.at - b.at);
}

/** Labels named in `by (…)`, `without (…)`, `on (…)`, `ignoring (…)`, `group_left (…)`, `group_right (…)`. */
export function groupingLabels(expr: string): string[] {
  const labels: string[] = [];
  for (const m of expr.matchAll(GROUPING)) {
    for (const l of m[1]!.split(',')) if (l.trim() !== '') labels.push(l.trim());
  }
  return labels;
}

/** Names called as functions or aggregations. */
export function calls(expr: string): string[] {
  return [...blank(expr, bracesAndRanges(expr)).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*\(/g)]
    .map((m) => m[1]!)
    .filter((n) => !KEYWORDS.includes(n));
}

/** Problems with one query, each as a line; none means it fits the exported metrics. */
export function problems(expr: string, metrics: Readonly<Record<string, MetricSpec>> = METRICS): string[] {
  const out: string[] = [];
  if (!balanced(expr)) out.push(`unbalanced brackets in ${expr}`);
  for (const fn of calls(expr)) {
    if (!AGGREGATIONS.includes(fn) && !FUNCTIONS.includes(fn)) out.push(`unknown function ${fn}()`);
  }
  const sels = selectors(expr);
  if (sels.length === 0) out.push(`selects no series: ${expr}`);
  const inCounterFn = argumentRanges(expr, COUNTER_FUNCTIONS);
  const inQuantile = argumentRanges(expr, ['histogram_quantile']);
  const labelsInExpr = new Set<string>(TARGET_LABELS);
  for (const s of sels) {
    const resolved = resolve(s.name, metrics);
    if (!resolved) {
      out.push(`unknown metric ${s.name}`);
      continue;
    }
    const { spec, suffix } = resolved;
    const allowed = new Set([...Object.keys(spec.labels), ...TARGET_LABELS, ...(suffix === '_bucket' ? ['le'] : [])]);
    for (const l of allowed) labelsInExpr.add(l);
    for (const m of s.matchers) {
      if (!allowed.has(m.label)) {
        out.push(`${s.name} has no label ${m.label}`);
        continue;
      }
      const values = spec.labels[m.label];
      if (!values) continue;
      const wanted = m.op === '=' || m.op === '!=' ? [m.value] : /^[a-zA-Z0-9_|]+$/.test(m.value) ? m.value.split('|') : [];
      for (const v of wanted) if (!values.includes(v)) out.push(`${s.name}{${m.label}} has no value '${v}' (${values.join(', ')})`);
    }
    const insideCounterFn = inCounterFn.some(([a, b]) => s.at >= a && s.at < b);
    const counterLike = spec.type === 'counter' || (spec.type === 'histogram' && suffix !== '');
    if (insideCounterFn && !counterLike) out.push(`${s.name} is a ${spec.type}: rate()/increase() need a counter`);
    if (!insideCounterFn && counterLike) out.push(`${s.name} is a cumulative counter: use rate() or increase()`);
    if (suffix === '_bucket' && !inQuantile.some(([a, b]) => s.at >= a && s.at < b)) out.push(`${s.name} outside histogram_quantile()`);
  }
  if (inQuantile.length > 0 && !groupingLabels(expr).includes('le')) out.push('histogram_quantile() without grouping by le');
  for (const l of groupingLabels(expr)) if (!labelsInExpr.has(l)) out.push(`groups by ${l}, a label none of its metrics has`);
  return out;
}

function resolve(name: string, metrics: Readonly<Record<string, MetricSpec>>): { spec: MetricSpec; suffix: string } | undefined {
  const spec = metrics[name];
  if (spec) return spec.type === 'histogram' ? undefined : { spec, suffix: '' }; // a histogram is read through its series
  for (const suffix of HISTOGRAM_SUFFIXES) {
    if (!name.endsWith(suffix)) continue;
    const base = metrics[name.slice(0, -suffix.length)];
    if (base?.type === 'histogram') return { spec: base, suffix };
  }
  return undefined;
}

function matchers(text: string): Matcher[] {
  return [...text.matchAll(/\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?/g)].map((m) => ({
    label: m[1]!,
    op: m[2] as Matcher['op'],
    value: m[3]!,
  }));
}

/** [start, end) of the parenthesized argument list of each call to one of `names`. */
function argumentRanges(expr: string, names: string[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (const m of expr.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*\(/g)) {
    if (!names.includes(m[1]!)) continue;
    const open = m.index + m[0].length - 1;
    let depth = 0;
    for (let i = open; i < expr.length; i++) {
      if (expr[i] === '(') depth += 1;
      else if (expr[i] === ')' && --depth === 0) {
        ranges.push([open, i]);
        break;
      }
    }
  }
  return ranges;
}

function bracesAndRanges(expr: string): Array<[number, number]> {
  return [...expr.matchAll(/\{[^}]*\}|\[[^\]]*\]|"(?:[^"\\]|\\.)*"/g)].map((m) => [m.index, m.index + m[0].length]);
}

/** The expression with these spans (and every {…}, […] and string) replaced by spaces. */
function blank(expr: string, spans: Array<[number, number]>): string {
  const chars = [...expr];
  for (const [a, b] of [...spans, ...bracesAndRanges(expr)]) for (let i = a; i < b; i++) chars[i] = ' ';
  return chars.join('');
}

function balanced(expr: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (const ch of expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
    if (ch === '(' || ch === '[' || ch === '{') stack.push(ch);
    else if (ch in pairs && stack.pop() !== pairs[ch]) return false;
  }
  return stack.length === 0;
}
