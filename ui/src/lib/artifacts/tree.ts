// A folder tree from flat artifact entry paths ("a/b/c.txt"), folders first, sizes summed.

import type { FileEntry } from './types';

export interface TreeNode {
  name: string;
  path: string; // full path ("" for the root)
  children: TreeNode[]; // empty for files
  file: FileEntry | null;
  size: number; // bytes under this node
  count: number; // files under this node
}

export function buildTree(files: FileEntry[]): TreeNode {
  const root: TreeNode = { name: '', path: '', children: [], file: null, size: 0, count: 0 };
  const folders = new Map<string, TreeNode>([['', root]]);
  for (const f of files) {
    const parts = f.path.split('/');
    let parent = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const path = parts.slice(0, i + 1).join('/');
      let folder = folders.get(path);
      if (!folder) {
        folder = { name: parts[i], path, children: [], file: null, size: 0, count: 0 };
        folders.set(path, folder);
        parent.children.push(folder);
      }
      parent = folder;
    }
    parent.children.push({ name: parts[parts.length - 1], path: f.path, children: [], file: f, size: f.size ?? 0, count: 1 });
  }
  const finish = (node: TreeNode): void => {
    if (node.file) return;
    node.children.forEach(finish);
    node.children.sort((a, b) => Number(!!a.file) - Number(!!b.file) || a.name.localeCompare(b.name));
    node.size = node.children.reduce((s, c) => s + c.size, 0);
    node.count = node.children.reduce((s, c) => s + c.count, 0);
  };
  finish(root);
  return root;
}

/** The folders to open so that `path` is visible. */
export function ancestors(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}
