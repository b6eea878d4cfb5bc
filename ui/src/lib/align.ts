// Laying series of several runs on one x grid (uPlot draws columns over a shared x array),
// and reducing a group of runs to its mean with a min/max band.
//
// The server gives every run of a chart the same power-of-two bucket width, so entries fall on
// shared bucket edges. When the exact union of x values is small enough, it is used as is
// (exact). Otherwise each entry is put on its bucket ("snapped"): entries of different runs in
// one bucket share a column whose x is the largest of them (less than one bucket, about a pixel,
// from each). A series' separate first point keeps its own column at the bucket's start.

export interface Line {
  x: ArrayLike<number>;
  y: ArrayLike<number | null>;
  lo?: ArrayLike<number | null>;
  hi?: ArrayLike<number | null>;
}

export interface Aligned {
  x: number[];
  y: (number | null)[][];
  lo: (number | null)[][];
  hi: (number | null)[][];
  snapped: boolean;
}

export const MAX_EXACT_CELLS = 400_000;

/** null for a gap: null, NaN or +-Infinity (uPlot needs null). */
function gap(v: number | null | undefined): number | null {
  return v === null || v === undefined || !Number.isFinite(v) ? null : v;
}

function sortedUnion(lines: Line[]): number[] {
  const all: number[] = [];
  for (const l of lines) for (let i = 0; i < l.x.length; i++) all.push(l.x[i]);
  all.sort((a, b) => a - b);
  const out: number[] = [];
  for (const v of all) if (out.length === 0 || out[out.length - 1] !== v) out.push(v);
  return out;
}

/** Column keys per entry when snapping: 2*bucket+1, or 2*bucket for a separate first point. */
export function slotKeys(x: ArrayLike<number>, width: number): number[] {
  const keys: number[] = new Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const b = Math.floor(x[i] / width);
    keys[i] = 2 * b + 1;
  }
  if (x.length > 1 && Math.floor(x[0] / width) === Math.floor(x[1] / width)) keys[0] -= 1;
  return keys;
}

export function alignLines(lines: Line[], width: number, maxCells = MAX_EXACT_CELLS): Aligned {
  const union = sortedUnion(lines);
  const blank = (n: number) => new Array<number | null>(n).fill(null);
  if (union.length * Math.max(1, lines.length) <= maxCells || !(width > 0)) {
    const pos = new Map<number, number>();
    union.forEach((v, i) => pos.set(v, i));
    const out: Aligned = { x: union, y: [], lo: [], hi: [], snapped: false };
    for (const l of lines) {
      const y = blank(union.length);
      const lo = blank(union.length);
      const hi = blank(union.length);
      for (let i = 0; i < l.x.length; i++) {
        const j = pos.get(l.x[i])!;
        y[j] = gap(l.y[i]);
        lo[j] = gap(l.lo && l.lo.length ? l.lo[i] : l.y[i]);
        hi[j] = gap(l.hi && l.hi.length ? l.hi[i] : l.y[i]);
      }
      out.y.push(y);
      out.lo.push(lo);
      out.hi.push(hi);
    }
    return out;
  }
  const keysPer = lines.map((l) => slotKeys(l.x, width));
  const slotX = new Map<number, number>();
  lines.forEach((l, li) => {
    const keys = keysPer[li];
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const prev = slotX.get(k);
      const v = l.x[i];
      if (prev === undefined) slotX.set(k, v);
      else slotX.set(k, k % 2 === 0 ? Math.min(prev, v) : Math.max(prev, v));
    }
  });
  const slots = [...slotX.keys()].sort((a, b) => a - b);
  const col = new Map<number, number>();
  slots.forEach((k, i) => col.set(k, i));
  const x = slots.map((k) => slotX.get(k)!);
  // keep x strictly increasing (a separate first point can share x with its bucket's last)
  for (let i = 1; i < x.length; i++) if (x[i] <= x[i - 1]) x[i] = x[i - 1] + width * 1e-6;
  const out: Aligned = { x, y: [], lo: [], hi: [], snapped: true };
  lines.forEach((l, li) => {
    const y = blank(x.length);
    const lo = blank(x.length);
    const hi = blank(x.length);
    const keys = keysPer[li];
    for (let i = 0; i < keys.length; i++) {
      const j = col.get(keys[i])!;
      y[j] = gap(l.y[i]);
      lo[j] = gap(l.lo && l.lo.length ? l.lo[i] : l.y[i]);
      hi[j] = gap(l.hi && l.hi.length ? l.hi[i] : l.y[i]);
    }
    out.y.push(y);
    out.lo.push(lo);
    out.hi.push(hi);
  });
  return out;
}

/** A group of runs as one line: the mean of its runs per column, the band from min to max. */
export function groupLine(members: Line[], width: number): { x: number[]; y: (number | null)[]; lo: (number | null)[]; hi: (number | null)[] } {
  const a = alignLines(members, width, 0);
  const n = a.x.length;
  const y: (number | null)[] = new Array(n).fill(null);
  const lo: (number | null)[] = new Array(n).fill(null);
  const hi: (number | null)[] = new Array(n).fill(null);
  for (let j = 0; j < n; j++) {
    let sum = 0;
    let count = 0;
    let mn = Infinity;
    let mx = -Infinity;
    for (let m = 0; m < members.length; m++) {
      const v = a.y[m][j];
      if (v !== null && Number.isFinite(v)) {
        sum += v;
        count++;
      }
      const l = a.lo[m][j];
      const h = a.hi[m][j];
      if (l !== null && Number.isFinite(l) && l < mn) mn = l;
      if (h !== null && Number.isFinite(h) && h > mx) mx = h;
    }
    if (count) y[j] = sum / count;
    if (mn !== Infinity) lo[j] = mn;
    if (mx !== -Infinity) hi[j] = mx;
  }
  return { x: a.x, y, lo, hi };
}
