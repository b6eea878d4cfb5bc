// Sweeps: the API's shapes, the sweep routes, and the pure helpers behind the sweep pages
// (parallel-coordinates axes, best run, sorting with missing values last, the config as YAML).

export type SweepState = 'RUNNING' | 'FINISHED' | 'CANCELED' | 'PAUSED' | string;
export type Goal = 'minimize' | 'maximize';

export interface SweepMetric {
  name: string;
  goal: Goal | string;
}

/** What the listing and the detail of a sweep both carry (server/sweeps.py). */
interface SweepBase {
  id: string;
  name: string;
  state: SweepState;
  method: string;
  metric: SweepMetric | null;
  created_at: number;
  run_count: number;
  expected_run_count: number | null;
}

/** One sweep in GET /projects/{e}/{p}/sweeps. */
export interface SweepSummary extends SweepBase {
  best: { run_id: string; value: number } | null;
}

export interface SweepRun {
  id: string;
  name: string | null;
  state: string;
  created_at: number;
  params: Record<string, unknown>;
  metric: number | null;
}

/** GET /projects/{e}/{p}/sweeps/{id}. */
export interface SweepDetail extends SweepBase {
  config: Record<string, unknown>;
  parameters: string[];
  runs: SweepRun[];
  best_run: string | null;
}

// ---------------------------------------------------------------- routes

export type SweepRoute =
  | { page: 'sweeps'; entity: string; project: string }
  | { page: 'sweep'; entity: string; project: string; sweepId: string };

/** /{entity}/{project}/sweeps[/{sweep_id}] (W&B's sweep URLs), from decoded path parts; else null. */
export function parseSweepRoute(parts: string[]): SweepRoute | null {
  if (parts.length < 3 || parts[2] !== 'sweeps') return null;
  const [entity, project] = parts;
  if (parts.length === 3) return { page: 'sweeps', entity, project };
  if (parts.length === 4) return { page: 'sweep', entity, project, sweepId: parts[3] };
  return null;
}

const enc = encodeURIComponent;
export const sweepUrls = {
  list: (e: string, p: string) => `/${enc(e)}/${enc(p)}/sweeps`,
  sweep: (e: string, p: string, id: string) => `/${enc(e)}/${enc(p)}/sweeps/${enc(id)}`,
  run: (e: string, p: string, id: string) => `/${enc(e)}/${enc(p)}/runs/${enc(id)}`,
};

// ---------------------------------------------------------------- values

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const missing = (v: unknown) => v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));

/** A value as one short label (categorical axis ticks, table cells' sort text). */
export function valueLabel(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/** A run's value for a parameter: the flat dotted key, else a walk through nested objects. */
export function paramValue(params: Record<string, unknown> | null | undefined, name: string): unknown {
  if (!params) return undefined;
  if (name in params) return params[name];
  let cur: unknown = params;
  for (const part of name.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** The sweep config's spec of a parameter (``model.width``: nested under ``parameters``), or null. */
export function paramSpec(config: Record<string, unknown> | null | undefined, name: string): Record<string, unknown> | null {
  let params = config?.parameters;
  const asObj = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);
  const top = asObj(params)?.[name];
  if (asObj(top)) return asObj(top);
  const parts = name.split('.');
  let spec: Record<string, unknown> | null = null;
  for (const part of parts) {
    const p = asObj(params);
    if (!p) return null;
    spec = asObj(p[part]);
    if (!spec) return null;
    params = spec.parameters;
  }
  return spec;
}

/** Whether the config draws a parameter from a log distribution (log_uniform_values, q_log_uniform, ...). */
export function isLogParam(config: Record<string, unknown> | null | undefined, name: string): boolean {
  const d = paramSpec(config, name)?.distribution;
  return typeof d === 'string' && d.includes('log_uniform');
}

// ---------------------------------------------------------------- axes

export interface Axis {
  key: string;
  label: string;
  kind: 'linear' | 'log' | 'categorical';
  min: number;
  max: number;
  categories: string[];
  /** whether some runs have no value here (drawn in a "n/a" slot below the axis) */
  hasMissing: boolean;
}

/** An axis over the values the runs have: numeric when every present value is a finite number
 *  (log when asked and all are > 0), else categorical, ordered as in ``order`` (the config's
 *  ``values``) and then numbers before strings. */
export function buildAxis(key: string, label: string, values: unknown[], opts: { log?: boolean; order?: unknown[] } = {}): Axis {
  const present = values.filter((v) => !missing(v));
  const hasMissing = present.length < values.length;
  if (present.length > 0 && present.every(isNum)) {
    let min = Infinity;
    let max = -Infinity;
    for (const v of present as number[]) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const log = !!opts.log && min > 0;
    return { key, label, kind: log ? 'log' : 'linear', min, max, categories: [], hasMissing };
  }
  const seen = new Map<string, unknown>();
  for (const v of present) {
    const k = valueLabel(v);
    if (!seen.has(k)) seen.set(k, v);
  }
  const rank = new Map<string, number>();
  (opts.order ?? []).forEach((v, i) => {
    const k = valueLabel(v);
    if (!rank.has(k)) rank.set(k, i);
  });
  const categories = [...seen.keys()].sort((a, b) => {
    const ra = rank.get(a) ?? Infinity;
    const rb = rank.get(b) ?? Infinity;
    if (ra !== rb) return ra - rb;
    return compareValues(seen.get(a), seen.get(b));
  });
  return { key, label, kind: 'categorical', min: 0, max: Math.max(0, categories.length - 1), categories, hasMissing };
}

/** Where a value sits on an axis: 0 (bottom) .. 1 (top); null when missing or not on the axis. */
export function axisPos(axis: Axis, v: unknown): number | null {
  if (missing(v)) return null;
  if (axis.kind === 'categorical') {
    const i = axis.categories.indexOf(valueLabel(v));
    if (i < 0) return null;
    return axis.categories.length === 1 ? 0.5 : i / (axis.categories.length - 1);
  }
  if (!isNum(v)) return null;
  if (axis.max === axis.min) return 0.5;
  if (axis.kind === 'log') {
    if (v <= 0) return null;
    return (Math.log(v) - Math.log(axis.min)) / (Math.log(axis.max) - Math.log(axis.min));
  }
  return (v - axis.min) / (axis.max - axis.min);
}

export interface Tick {
  pos: number;
  label: string;
}

function shortNum(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e6) return v.toExponential(1).replace('.0e', 'e');
  return String(Number(v.toPrecision(3)));
}

/** Tick marks: categories (at most ``max`` of them, evenly picked), powers of ten on a log axis,
 *  round steps on a linear one (always with the axis's min and max ends). */
export function axisTicks(axis: Axis, max = 6): Tick[] {
  if (axis.kind === 'categorical') {
    const n = axis.categories.length;
    const every = Math.max(1, Math.ceil(n / Math.max(2, max * 2)));
    return axis.categories
      .map((c, i) => ({ pos: n === 1 ? 0.5 : i / (n - 1), label: c }))
      .filter((_, i) => i % every === 0 || i === n - 1);
  }
  if (axis.min === axis.max) return [{ pos: 0.5, label: shortNum(axis.min) }];
  const ends = [
    { pos: 0, label: shortNum(axis.min) },
    { pos: 1, label: shortNum(axis.max) },
  ];
  const inner: number[] = [];
  if (axis.kind === 'log') {
    const lo = Math.ceil(Math.log10(axis.min) - 1e-9);
    const hi = Math.floor(Math.log10(axis.max) + 1e-9);
    const stride = Math.max(1, Math.ceil((hi - lo + 1) / max));
    for (let e = lo; e <= hi; e += stride) inner.push(10 ** e);
  } else {
    const raw = (axis.max - axis.min) / max;
    const mag = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
    for (let v = Math.ceil(axis.min / step) * step; v <= axis.max + step * 1e-9; v += step) inner.push(Number(v.toPrecision(12)));
  }
  const ticks = inner
    .map((v) => ({ pos: axisPos(axis, v) ?? -1, label: shortNum(v) }))
    .filter((t) => t.pos > 0.06 && t.pos < 0.94);
  return [...ends, ...ticks].sort((a, b) => a.pos - b.pos);
}

// ---------------------------------------------------------------- best run, colours

/** The run with the best finite metric for the goal (maximize, else minimize); null when none has one. */
export function bestRun(runs: SweepRun[], goal: string | null | undefined): SweepRun | null {
  const max = goal === 'maximize';
  let best: SweepRun | null = null;
  for (const r of runs) {
    if (!isNum(r.metric)) continue;
    if (best === null || (max ? r.metric > (best.metric as number) : r.metric < (best.metric as number))) best = r;
  }
  return best;
}

/** A blue (0) to red (1) gradient, through violet. */
export function gradient(t: number): string {
  const c = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  const stops = [
    [0x2f, 0x6f, 0xdb],
    [0x7b, 0x4f, 0xc2],
    [0xd9, 0x36, 0x3e],
  ];
  const i = c < 0.5 ? 0 : 1;
  const u = c < 0.5 ? c * 2 : (c - 0.5) * 2;
  const [r, g, b] = stops[i].map((x, k) => Math.round(x + (stops[i + 1][k] - x) * u));
  return `rgb(${r}, ${g}, ${b})`;
}

// ---------------------------------------------------------------- parallel coordinates layout

export interface PcLine {
  run: SweepRun;
  /** SVG ``points`` */
  points: string;
  /** y of the line at each axis, in pixels */
  ys: number[];
  color: string;
  hasMetric: boolean;
  best: boolean;
}

export interface PcLayout {
  axes: Axis[];
  xs: number[];
  top: number;
  bottom: number;
  /** y of the "n/a" slot under the axes (values a run lacks) */
  naY: number;
  lines: PcLine[];
}

/** Axes (one per parameter, then the metric) and one line per run, laid out in a width x height box;
 *  lines come back in drawing order: no-metric runs first, the best run last (on top). */
export function layoutParallel(
  detail: Pick<SweepDetail, 'config' | 'parameters' | 'runs' | 'metric'>,
  bestId: string | null,
  width: number,
  height: number,
  pad = { left: 56, right: 72, top: 34, bottom: 46 },
): PcLayout {
  const runs = detail.runs ?? [];
  const params = [...new Set(detail.parameters?.length ? detail.parameters : paramNames(runs))];
  const axes = params.map((name) => {
    const spec = paramSpec(detail.config, name);
    const order = Array.isArray(spec?.values) ? (spec.values as unknown[]) : undefined;
    return buildAxis(name, name, runs.map((r) => paramValue(r.params, name)), { log: isLogParam(detail.config, name), order });
  });
  const metricAxis = buildAxis('__metric__', detail.metric?.name ?? 'metric', runs.map((r) => r.metric));
  axes.push(metricAxis);
  const n = axes.length;
  const innerW = Math.max(10, width - pad.left - pad.right);
  const xs = axes.map((_, i) => pad.left + (n === 1 ? innerW / 2 : (innerW * i) / (n - 1)));
  const top = pad.top;
  const anyMissing = axes.some((a) => a.hasMissing);
  const naY = height - pad.bottom + 4;
  const bottom = anyMissing ? naY - 18 : height - pad.bottom;
  const span = bottom - top;
  const lines: PcLine[] = runs.map((run) => {
    const ys = axes.map((axis, i) => {
      const v = i === n - 1 ? run.metric : paramValue(run.params, axis.key);
      const p = axisPos(axis, v);
      return p === null ? naY : bottom - p * span;
    });
    const hasMetric = isNum(run.metric);
    const mp = hasMetric ? axisPos(metricAxis, run.metric) : null;
    return {
      run,
      ys,
      points: ys.map((y, i) => `${xs[i].toFixed(1)},${y.toFixed(1)}`).join(' '),
      color: mp === null ? '#9aa1ab' : gradient(mp),
      hasMetric,
      best: run.id === bestId,
    };
  });
  const rank = (l: PcLine) => (l.best ? 2 : l.hasMetric ? 1 : 0);
  lines.sort((a, b) => rank(a) - rank(b));
  return { axes, xs, top, bottom, naY, lines };
}

/** The line nearest to (x, y) (pixels), by its y where it crosses x; null when none is within ``maxDist``. */
export function nearestLine(layout: PcLayout, x: number, y: number, maxDist = 8): PcLine | null {
  const { xs, lines } = layout;
  if (lines.length === 0 || xs.length === 0) return null;
  let i = 0;
  while (i < xs.length - 2 && x > xs[i + 1]) i++;
  const x0 = xs[i];
  const x1 = xs[Math.min(i + 1, xs.length - 1)];
  const t = x1 === x0 ? 0 : Math.min(1, Math.max(0, (x - x0) / (x1 - x0)));
  let best: PcLine | null = null;
  let bestD = maxDist;
  // last drawn is on top: prefer it on ties
  for (let k = lines.length - 1; k >= 0; k--) {
    const l = lines[k];
    const ly = l.ys[i] + (l.ys[Math.min(i + 1, l.ys.length - 1)] - l.ys[i]) * t;
    const d = Math.abs(ly - y);
    if (d < bestD) {
      bestD = d;
      best = l;
    }
  }
  return best;
}

/** Parameter names the runs have, in first-seen order (when the API gives none). */
export function paramNames(runs: SweepRun[]): string[] {
  const out = new Set<string>();
  for (const r of runs) for (const k of Object.keys(r.params ?? {})) out.add(k);
  return [...out];
}

// ---------------------------------------------------------------- sorting

/** Order of two values: numbers (numerically) before booleans before strings before others. */
export function compareValues(a: unknown, b: unknown): number {
  const rank = (v: unknown) => (isNum(v) ? 0 : typeof v === 'boolean' ? 1 : typeof v === 'string' ? 2 : 3);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 0) return (a as number) - (b as number);
  if (ra === 1) return Number(a) - Number(b);
  return valueLabel(a).localeCompare(valueLabel(b), undefined, { numeric: true });
}

/** A column of the sweep's runs table: ``name``, ``state``, ``created_at``, ``metric`` or ``param:<name>``. */
export interface SweepSort {
  key: string;
  desc: boolean;
}

export function sortKeyValue(run: SweepRun, key: string): unknown {
  if (key === 'name') return run.name ?? run.id;
  if (key === 'state') return run.state;
  if (key === 'created_at') return run.created_at;
  if (key === 'metric') return run.metric;
  if (key.startsWith('param:')) return paramValue(run.params, key.slice(6));
  return undefined;
}

/** Runs sorted by one column; runs without a value (null, missing, NaN) always go last. Stable. */
export function sortSweepRuns(runs: SweepRun[], sort: SweepSort): SweepRun[] {
  const dir = sort.desc ? -1 : 1;
  return runs
    .map((run, i) => ({ run, i, v: sortKeyValue(run, sort.key) }))
    .sort((a, b) => {
      const ma = missing(a.v);
      const mb = missing(b.v);
      if (ma || mb) return ma === mb ? a.i - b.i : ma ? 1 : -1;
      return dir * compareValues(a.v, b.v) || a.i - b.i;
    })
    .map((x) => x.run);
}

/** The default order of a sweep's runs: best metric first (ascending to minimize, descending to maximize). */
export function defaultSort(metric: SweepMetric | null): SweepSort {
  if (!metric) return { key: 'created_at', desc: true };
  return { key: 'metric', desc: metric.goal === 'maximize' };
}

/** The next sort after clicking a column header: the same column flips, a new one starts in its natural order. */
export function nextSort(current: SweepSort, key: string, metric: SweepMetric | null): SweepSort {
  if (current.key === key) return { key, desc: !current.desc };
  if (key === 'metric') return defaultSort(metric);
  return { key, desc: key === 'created_at' };
}

// ---------------------------------------------------------------- config as YAML

const PLAIN = /^[A-Za-z_][\w./-]*$/;
const RESERVED = /^(true|false|null|yes|no|on|off|~)$/i;

function yamlScalar(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : v > 0 ? '.inf' : Number.isNaN(v) ? '.nan' : '-.inf';
  if (typeof v === 'boolean') return String(v);
  const s = String(v);
  return PLAIN.test(s) && !RESERVED.test(s) ? s : JSON.stringify(s);
}

/** A JSON value as YAML (block style; lists of scalars inline), as a sweep config is usually written. */
export function toYaml(value: unknown, indent = 0): string {
  const pad = '  '.repeat(indent);
  const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
  const scalarList = (v: unknown) => Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object');
  if (isObj(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) return pad + '{}';
    return keys
      .map((k) => {
        const v = value[k];
        const key = pad + yamlScalar(k) + ':';
        if (isObj(v) && Object.keys(v).length) return key + '\n' + toYaml(v, indent + 1);
        if (Array.isArray(v) && v.length && !scalarList(v)) return key + '\n' + toYaml(v, indent + 1);
        return key + ' ' + toYaml(v, 0).trimStart();
      })
      .join('\n');
  }
  if (Array.isArray(value)) {
    if (scalarList(value)) return pad + '[' + value.map(yamlScalar).join(', ') + ']';
    return value
      .map((v) => {
        const body = toYaml(v, indent + 1).trimStart();
        return pad + '- ' + body;
      })
      .join('\n');
  }
  return pad + yamlScalar(value);
}
