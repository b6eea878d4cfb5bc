// Chart data requests: batched (charts that mount together share one POST), cached by request.

import { api } from './api';
import type { Series, SeriesAnswer } from './types';

type Packed = { dtype: string; b64: string };
const ARRAYS: Record<string, (b: ArrayBuffer) => ArrayLike<number>> = {
  i4: (b) => new Int32Array(b),
  f4: (b) => new Float32Array(b),
  f8: (b) => new Float64Array(b),
};

/** A base64 column (little-endian typed array) as a typed array view; NaN marks a gap
 * (alignment turns it into null for uPlot). JSON columns pass through. */
export function unpack(col: Packed | (number | null)[]): ArrayLike<number | null> {
  if (Array.isArray(col)) return col;
  const bin = atob(col.b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const make = ARRAYS[col.dtype];
  if (!make) throw new Error(`unknown column dtype ${col.dtype}`);
  return make(bytes.buffer);
}

/** Series of a b64 answer with plain number columns (JSON answers pass through). */
export function unpackAnswer(ans: SeriesAnswer): SeriesAnswer {
  for (const s of ans.series) {
    const raw = s as unknown as Record<string, Packed | (number | null)[]>;
    s.x = unpack(raw.x) as ArrayLike<number>;
    s.last = unpack(raw.last);
    s.min = unpack(raw.min);
    s.max = unpack(raw.max);
    if (raw.smooth) s.smooth = unpack(raw.smooth);
  }
  return ans;
}

export interface SeriesQuery {
  entity: string;
  project: string;
  key: string;
  runs: string[];
  x: string;
  xMin: number | null;
  xMax: number | null;
  buckets: number;
  smoothing: number;
  system: boolean;
}

export interface SeriesResult {
  width: number;
  series: Map<string, Series>; // by run id
}

interface Pending {
  q: SeriesQuery;
  resolve: (r: SeriesResult) => void;
  reject: (e: unknown) => void;
}

const MAX_CACHE = 300;
const cache = new Map<string, SeriesResult>();
let queue: Pending[] = [];
let scheduled = false;

/** Everything but the key: requests with the same signature are sent together. */
function signature(q: SeriesQuery): string {
  return JSON.stringify([q.entity, q.project, q.runs, q.x, q.xMin, q.xMax, q.buckets, q.smoothing, q.system]);
}

export function cacheKey(q: SeriesQuery): string {
  return signature(q) + '\u0000' + q.key;
}

export function cached(q: SeriesQuery): SeriesResult | undefined {
  return cache.get(cacheKey(q));
}

export function remember(q: SeriesQuery, r: SeriesResult) {
  const k = cacheKey(q);
  cache.delete(k);
  cache.set(k, r);
  while (cache.size > MAX_CACHE) cache.delete(cache.keys().next().value as string);
}

export function fetchSeries(q: SeriesQuery): Promise<SeriesResult> {
  return new Promise((resolve, reject) => {
    queue.push({ q, resolve, reject });
    if (!scheduled) {
      scheduled = true;
      setTimeout(flush, 0);
    }
  });
}

async function flush() {
  scheduled = false;
  const batch = queue;
  queue = [];
  const bySig = new Map<string, Pending[]>();
  for (const p of batch) {
    const s = signature(p.q);
    if (!bySig.has(s)) bySig.set(s, []);
    bySig.get(s)!.push(p);
  }
  await Promise.all([...bySig.values()].map(send));
}

async function send(group: Pending[]) {
  const q = group[0].q;
  const keys = [...new Set(group.map((p) => p.q.key))];
  try {
    const ans = unpackAnswer(
      await api.series(q.entity, q.project, {
        runs: q.runs,
        keys,
        x: q.x,
        x_min: q.xMin,
        x_max: q.xMax,
        buckets: q.buckets,
        smoothing: q.smoothing,
        system: q.system,
        encoding: 'b64',
      }),
    );
    performance.mark('trackline:series-received');
    const byKey = new Map<string, SeriesResult>();
    for (const k of keys) byKey.set(k, { width: ans.widths[k] ?? 1, series: new Map() });
    for (const s of ans.series) byKey.get(s.key)!.series.set(s.run, s);
    for (const p of group) {
      const r = byKey.get(p.q.key)!;
      remember(p.q, r);
      p.resolve(r);
    }
  } catch (e) {
    for (const p of group) p.reject(e);
  }
}

/**
 * Live update: ask for what came after each run's cursor, with the same bucket width, and
 * splice it in (entries at x >= from are replaced). Returns null when a full refetch is due
 * (the series outgrew its buckets).
 */
export async function pollSeries(q: SeriesQuery, current: SeriesResult, live: string[]): Promise<SeriesResult | null> {
  const since: Record<string, number> = {};
  for (const id of live) since[id] = current.series.get(id)?.cursor ?? -1;
  const ans = unpackAnswer(
    await api.series(q.entity, q.project, {
      runs: live,
      keys: [q.key],
      x: q.x,
      x_min: q.xMin,
      x_max: q.xMax,
      buckets: q.buckets,
      smoothing: q.smoothing,
      system: q.system,
      since,
      width: { [q.key]: current.width },
      encoding: 'b64',
    }),
  );
  const next: SeriesResult = { width: current.width, series: new Map(current.series) };
  for (const s of ans.series) {
    const old = current.series.get(s.run);
    next.series.set(s.run, old ? spliceSeries(old, s) : s);
    if ((next.series.get(s.run)?.x.length ?? 0) > 2.5 * q.buckets) return null;
  }
  remember(q, next);
  return next;
}

/** ``old`` with its entries at x >= ``update.from`` replaced by ``update``'s (pure). */
export function spliceSeries(old: Series, update: Series): Series {
  if (update.from === null || update.from === undefined) return { ...old, cursor: update.cursor ?? old.cursor };
  let cut = 0;
  while (cut < old.x.length && old.x[cut] < update.from) cut++;
  const arr = <T,>(a: ArrayLike<T>): T[] => Array.from(a);
  const expand = (s: Series, col: 'min' | 'max') => arr(s.exact ? s.last : s[col]);
  const exact = old.exact && update.exact;
  const out: Series = {
    ...old,
    x: arr(old.x).slice(0, cut).concat(arr(update.x)),
    last: arr(old.last).slice(0, cut).concat(arr(update.last)),
    min: exact ? [] : expand(old, 'min').slice(0, cut).concat(expand(update, 'min')),
    max: exact ? [] : expand(old, 'max').slice(0, cut).concat(expand(update, 'max')),
    exact,
    cursor: update.cursor,
    points: old.points + update.points,
  };
  if (old.smooth || update.smooth) out.smooth = arr(old.smooth ?? old.last).slice(0, cut).concat(arr(update.smooth ?? update.last));
  return out;
}
