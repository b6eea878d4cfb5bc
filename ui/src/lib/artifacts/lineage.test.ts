import { describe, expect, it } from 'vitest';
import { layout } from './lineage';
import type { Lineage } from './types';

const node = (id: string, kind: 'run' | 'artifact') => ({ id, kind, label: id, entity: 'e', project: 'p' });

describe('lineage layout', () => {
  it('puts producers left of the focus and consumers right', () => {
    const g: Lineage = {
      focus: 'artifact:1',
      nodes: [node('artifact:1', 'artifact'), node('run:1', 'run'), node('run:2', 'run'), node('artifact:2', 'artifact')],
      edges: [
        { from: 'run:1', to: 'artifact:1', kind: 'output' },
        { from: 'artifact:1', to: 'run:2', kind: 'input' },
        { from: 'run:2', to: 'artifact:2', kind: 'output' },
      ],
    };
    const { placed, width } = layout(g);
    const col = Object.fromEntries(placed.map((p) => [p.node.id, p.column]));
    expect(col).toEqual({ 'run:1': 0, 'artifact:1': 1, 'run:2': 2, 'artifact:2': 3 });
    expect(width).toBeGreaterThan(placed.find((p) => p.node.id === 'artifact:2')!.x);
  });
  it('stacks siblings in one column without overlap', () => {
    const g: Lineage = {
      focus: 'artifact:1',
      nodes: [node('artifact:1', 'artifact'), node('run:1', 'run'), node('run:2', 'run')],
      edges: [
        { from: 'artifact:1', to: 'run:1', kind: 'input' },
        { from: 'artifact:1', to: 'run:2', kind: 'input' },
      ],
    };
    const ys = layout(g).placed.filter((p) => p.column === 1).map((p) => p.y);
    expect(ys.length).toBe(2);
    expect(Math.abs(ys[0] - ys[1])).toBeGreaterThanOrEqual(40);
  });
});
