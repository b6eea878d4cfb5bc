// Runs as table rows: columns, values, multi-key sort and grouping. Pure functions.

import { lookup } from './flatten';
import type { Json, Run } from './types';

export interface Column {
  id: string;
  label: string;
  kind: 'run' | 'config' | 'summary';
}

export const RUN_COLUMNS: Column[] = [
  { id: 'name', label: 'Name', kind: 'run' },
  { id: 'state', label: 'State', kind: 'run' },
  { id: 'created_at', label: 'Created', kind: 'run' },
  { id: 'duration', label: 'Runtime', kind: 'run' },
  { id: 'tags', label: 'Tags', kind: 'run' },
  { id: 'group', label: 'Group', kind: 'run' },
  { id: 'job_type', label: 'Job type', kind: 'run' },
  { id: 'host', label: 'Host', kind: 'run' },
  { id: 'notes', label: 'Notes', kind: 'run' },
  { id: 'id', label: 'ID', kind: 'run' },
  { id: 'last_step', label: 'Steps', kind: 'run' },
];

export function columnFor(id: string): Column {
  const known = RUN_COLUMNS.find((c) => c.id === id);
  if (known) return known;
  if (id.startsWith('config.')) return { id, label: id.slice(7), kind: 'config' };
  if (id.startsWith('summary.')) return { id, label: id.slice(8), kind: 'summary' };
  return { id, label: id, kind: 'run' };
}

export function valueOf(run: Run, id: string): Json | undefined {
  if (id.startsWith('config.')) return lookup(run.config, id.slice(7));
  if (id.startsWith('summary.')) return lookup(run.summary, id.slice(8));
  if (id === 'name') return run.name ?? run.id;
  const v = (run as unknown as Record<string, Json>)[id];
  return v === null ? undefined : v;
}

export interface SortKey {
  id: string;
  desc: boolean;
}

export function parseSort(text: string | null): SortKey[] {
  if (!text) return [];
  return text
    .split(',')
    .filter(Boolean)
    .map((p) => (p.startsWith('-') ? { id: p.slice(1), desc: true } : { id: p.replace(/^\+/, ''), desc: false }));
}

export function sortText(keys: SortKey[]): string {
  return keys.map((k) => (k.desc ? '-' : '') + k.id).join(',');
}

/** Numbers before strings before other values; missing values last in both directions. */
function rank(v: Json | undefined): number {
  if (v === undefined || v === null) return 3;
  if (typeof v === 'number') return Number.isNaN(v) ? 2 : 0;
  if (typeof v === 'string') return 1;
  return 2;
}

export function compareValues(a: Json | undefined, b: Json | undefined, desc: boolean): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra === 3 || rb === 3 || ra !== rb) return ra - rb;
  let c = 0;
  if (ra === 0) c = (a as number) - (b as number);
  else if (ra === 1) c = (a as string).localeCompare(b as string, undefined, { numeric: true });
  else c = JSON.stringify(a).localeCompare(JSON.stringify(b));
  return desc ? -c : c;
}

/** Stable multi-key sort; with no keys, newest first. */
export function sortRuns(runs: Run[], keys: SortKey[]): Run[] {
  const ks = keys.length ? keys : [{ id: 'created_at', desc: true }];
  const vals = runs.map((r) => ks.map((k) => valueOf(r, k.id)));
  const idx = runs.map((_, i) => i);
  idx.sort((i, j) => {
    for (let k = 0; k < ks.length; k++) {
      const c = compareValues(vals[i][k], vals[j][k], ks[k].desc);
      if (c !== 0) return c;
    }
    return i - j;
  });
  return idx.map((i) => runs[i]);
}

export interface RunGroup {
  key: string; // the group's value as text ("" for runs without one)
  label: string;
  runs: Run[];
}

export function groupValue(run: Run, by: string): string {
  const v = valueOf(run, by);
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map(String).sort().join(', ');
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Groups in the order their first run appears in ``runs`` (already sorted). */
export function groupRuns(runs: Run[], by: string): RunGroup[] {
  const groups = new Map<string, RunGroup>();
  for (const r of runs) {
    const key = groupValue(r, by);
    let g = groups.get(key);
    if (!g) {
      g = { key, label: key === '' ? `(no ${columnFor(by).label})` : key, runs: [] };
      groups.set(key, g);
    }
    g.runs.push(r);
  }
  return [...groups.values()];
}

/** Every config and summary key in the runs, as column ids, in first-seen order per kind. */
export function availableColumns(runs: Run[], flat: (r: Run) => { config: string[]; summary: string[] }): string[] {
  const config = new Set<string>();
  const summary = new Set<string>();
  for (const r of runs) {
    const f = flat(r);
    for (const k of f.config) config.add('config.' + k);
    for (const k of f.summary) if (!k.startsWith('_')) summary.add('summary.' + k);
  }
  return [...config, ...summary];
}
