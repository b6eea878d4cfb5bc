// Filter expressions over runs, typed in the runs table's filter box:
//   config.lr > 0.001    state = running    tags has baseline    name ~ ^resnet    summary.val/loss <= 0.3
// Fields are table column ids (see runs.ts); values are numbers when they look like numbers.

import type { Json, Run } from './types';
import { valueOf } from './runs';

export const OPS = ['<=', '>=', '!=', '!~', '=', '<', '>', '~', 'has'] as const;
export type Op = (typeof OPS)[number];

export interface Filter {
  field: string;
  op: Op;
  value: string;
}

const EXPR = /^\s*("[^"]+"|[^\s<>=!~]+)\s*(<=|>=|!=|!~|==|=|<|>|~|has\b)\s*(.*?)\s*$/;

export class FilterSyntaxError extends Error {}

/** `config.lr >= 0.01` -> {field: 'config.lr', op: '>=', value: '0.01'}; throws with a hint. */
export function parseFilter(text: string): Filter {
  const m = EXPR.exec(text);
  if (!m || m[3] === '') {
    throw new FilterSyntaxError(
      `cannot read "${text}": write <field> <op> <value>, e.g. "config.lr > 0.01", "state = running", "tags has best" (ops: ${OPS.join(' ')})`,
    );
  }
  const field = normaliseField(m[1].replace(/^"|"$/g, ''));
  const op = (m[2] === '==' ? '=' : m[2]) as Op;
  return { field, op, value: m[3].replace(/^"(.*)"$/, '$1') };
}

export function normaliseField(field: string): string {
  if (field.startsWith('summary_metrics.')) return 'summary.' + field.slice('summary_metrics.'.length);
  if (field === 'display_name') return 'name';
  if (field === 'jobType') return 'job_type';
  return field;
}

export function filterText(f: Filter): string {
  return `${f.field} ${f.op} ${f.value}`;
}

function coerce(text: string): number | string | boolean | null {
  const t = text.trim();
  if (t === 'null' || t === 'none') return null;
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t !== '' && !Number.isNaN(Number(t))) return Number(t);
  return t;
}

function regex(pattern: string): RegExp {
  try {
    return new RegExp(pattern, 'i');
  } catch {
    return new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
  }
}

function scalarMatches(v: Json | undefined, op: Op, want: ReturnType<typeof coerce>, raw: string): boolean {
  if (v === undefined || v === null) {
    if (want === null) return op === '=';
    return op === '!=' || op === '!~';
  }
  if (want === null) return op === '!=';
  switch (op) {
    case '~':
      return regex(raw).test(String(v));
    case '!~':
      return !regex(raw).test(String(v));
    case 'has':
      return String(v).toLowerCase().includes(raw.toLowerCase());
  }
  if (typeof want === 'number' && typeof v === 'number') {
    switch (op) {
      case '=': return v === want;
      case '!=': return v !== want;
      case '<': return v < want;
      case '<=': return v <= want;
      case '>': return v > want;
      case '>=': return v >= want;
    }
  }
  const a = typeof v === 'string' ? v : JSON.stringify(v);
  const b = String(want);
  switch (op) {
    case '=': return a === b;
    case '!=': return a !== b;
    case '<': return a < b;
    case '<=': return a <= b;
    case '>': return a > b;
    case '>=': return a >= b;
  }
  return false;
}

export function matches(run: Run, f: Filter): boolean {
  const v = valueOf(run, f.field);
  const want = coerce(f.value);
  if (Array.isArray(v)) {
    // lists (tags): `has`/`=` match when any element does; `!=` when none does
    if (f.op === '!=' || f.op === '!~') {
      const pos = f.op === '!=' ? '=' : '~';
      return !v.some((x) => scalarMatches(x, pos, want, f.value));
    }
    if (f.op === 'has') return v.some((x) => String(x).toLowerCase() === f.value.toLowerCase());
    return v.some((x) => scalarMatches(x, f.op, want, f.value));
  }
  return scalarMatches(v, f.op, want, f.value);
}

export function applyFilters(runs: Run[], filters: Filter[], search: string): Run[] {
  const s = search.trim() ? regex(search.trim()) : null;
  if (!filters.length && !s) return runs;
  return runs.filter(
    (r) => (!s || s.test(r.name ?? '') || s.test(r.id)) && filters.every((f) => matches(r, f)),
  );
}
