// Layout of a lineage graph: columns by distance along the edges (inputs left, outputs right).

import type { Lineage, LineageNode } from './types';

export interface Placed {
  node: LineageNode;
  x: number;
  y: number;
  column: number;
}

export const NODE_W = 180;
export const NODE_H = 40;
const COL_GAP = 70;
const ROW_GAP = 18;

/** Columns: the focus is 0; a node reached along an edge is one column right, against one left. */
export function layout(g: Lineage): { placed: Placed[]; width: number; height: number } {
  const column = new Map<string, number>([[g.focus, 0]]);
  const queue = [g.focus];
  while (queue.length) {
    const id = queue.shift()!;
    const c = column.get(id)!;
    for (const e of g.edges) {
      if (e.from === id && !column.has(e.to)) {
        column.set(e.to, c + 1);
        queue.push(e.to);
      } else if (e.to === id && !column.has(e.from)) {
        column.set(e.from, c - 1);
        queue.push(e.from);
      }
    }
  }
  for (const n of g.nodes) if (!column.has(n.id)) column.set(n.id, 0);
  const min = Math.min(...column.values());
  const byCol = new Map<number, LineageNode[]>();
  for (const n of g.nodes) {
    const c = column.get(n.id)! - min;
    if (!byCol.has(c)) byCol.set(c, []);
    byCol.get(c)!.push(n);
  }
  const tallest = Math.max(1, ...[...byCol.values()].map((v) => v.length));
  const height = tallest * (NODE_H + ROW_GAP) + ROW_GAP;
  const placed: Placed[] = [];
  for (const [c, nodes] of byCol) {
    nodes.sort((a, b) => a.kind.localeCompare(b.kind) || a.label.localeCompare(b.label));
    const top = (height - nodes.length * (NODE_H + ROW_GAP) + ROW_GAP) / 2;
    nodes.forEach((node, i) => placed.push({ node, column: c, x: 20 + c * (NODE_W + COL_GAP), y: top + i * (NODE_H + ROW_GAP) }));
  }
  const width = 40 + (Math.max(0, ...placed.map((p) => p.column)) + 1) * (NODE_W + COL_GAP) - COL_GAP;
  return { placed, width, height };
}
