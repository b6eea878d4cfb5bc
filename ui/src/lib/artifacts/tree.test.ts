import { describe, expect, it } from 'vitest';
import { ancestors, buildTree } from './tree';
import type { FileEntry } from './types';

const f = (path: string, size: number): FileEntry => ({ path, size, digest: 'd', ref: null, stored: true });

describe('buildTree', () => {
  it('nests folders, puts them first and sums sizes', () => {
    const root = buildTree([f('b.txt', 1), f('a/z.txt', 2), f('a/deep/y.txt', 3), f('c/x.txt', 4)]);
    expect(root.children.map((c) => c.name)).toEqual(['a', 'c', 'b.txt']);
    const a = root.children[0];
    expect(a.children.map((c) => c.name)).toEqual(['deep', 'z.txt']);
    expect([a.size, a.count, root.size, root.count]).toEqual([5, 2, 10, 4]);
    expect(a.children[0].children[0].path).toBe('a/deep/y.txt');
  });
  it('lists the folders above a path', () => {
    expect(ancestors('a/b/c.txt')).toEqual(['a', 'a/b']);
    expect(ancestors('top.txt')).toEqual([]);
  });
});
