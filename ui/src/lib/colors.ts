// Run colours: stable per run id (so a run keeps its colour when the table is re-sorted).

export const PALETTE = [
  '#1f77b4', '#e8590c', '#2f9e44', '#d6336c', '#7048e8', '#8c564b', '#e377c2', '#0c8599',
  '#bcbd22', '#5c7cfa', '#f59f00', '#c92a2a', '#20c997', '#862e9c', '#495057', '#1098ad',
  '#a9e34b', '#ff8787', '#3b5bdb', '#fab005',
];

export function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** A run's colour: chosen by the user, else by its place in creation order, else by its id. */
export function colorFor(id: string, overrides: Record<string, string> = {}, order?: Map<string, number>): string {
  const i = order?.get(id);
  return overrides[id] ?? PALETTE[(i ?? hashString(id)) % PALETTE.length];
}

/** Creation order (oldest first) of runs, so the first runs of a project get distinct colours. */
export function creationOrder(runs: { id: string; created_at: number }[]): Map<string, number> {
  return new Map([...runs].sort((a, b) => a.created_at - b.created_at || a.id.localeCompare(b.id)).map((r, i) => [r.id, i]));
}

/** `#rrggbb` with an alpha, for bands and faint raw lines under smoothed ones. */
export function withAlpha(hex: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) return hex;
  const n = parseInt(m[1], 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
