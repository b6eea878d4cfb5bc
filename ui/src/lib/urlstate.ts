// The whole workspace view lives in the URL query, so a link reproduces it.
// Defaults are left out, so a plain project URL shows the default view.

import { filterText, parseFilter, type Filter } from './filters';
import { parseSort, sortText, type SortKey } from './runs';

export interface Zoom {
  x: string; // the x-axis the window is on
  min: number;
  max: number;
}

export interface WorkspaceView {
  search: string; // regex over run names and ids
  filters: Filter[];
  sort: SortKey[];
  group: string | null; // a column id: config.<key>, group, job_type, ...
  cols: string[] | null; // table columns in order (null: the default set)
  hidden: string[]; // runs (or groups, as "g:<value>") not drawn
  colors: Record<string, string>; // run id (or "g:<value>") -> #rrggbb
  n: number; // draw the first n runs (or groups) of the table
  x: string; // "auto" (each metric's step metric, else _step), _step, _runtime, _timestamp or a key
  smoothing: number;
  log: boolean;
  band: boolean;
  zoom: Zoom | null;
  collapsed: string[]; // sections
  panels: string; // regex over chart names
  open: string[]; // expanded groups in the table
}

export const DEFAULT_VIEW: WorkspaceView = {
  search: '',
  filters: [],
  sort: [],
  group: null,
  cols: null,
  hidden: [],
  colors: {},
  n: 20,
  x: 'auto',
  smoothing: 0,
  log: false,
  band: true,
  zoom: null,
  collapsed: [],
  panels: '',
  open: [],
};

// Lists are comma-separated; a comma or % inside an item is escaped as %2C / %25.
const unescapeItem = (s: string) => s.replace(/%2C/gi, ',').replace(/%25/g, '%');
const escapeItem = (s: string) => s.replace(/%/g, '%25').replace(/,/g, '%2C');
const list = (v: string | null) => (v ? v.split(',').filter(Boolean).map(unescapeItem) : []);
const joinList = (v: string[]) => v.map(escapeItem).join(',');

export function decodeView(params: URLSearchParams): WorkspaceView {
  const v: WorkspaceView = structuredClone(DEFAULT_VIEW);
  v.search = params.get('q') ?? '';
  v.filters = params.getAll('f').flatMap((t) => {
    try {
      return [parseFilter(t)];
    } catch {
      return [];
    }
  });
  v.sort = parseSort(params.get('sort'));
  v.group = params.get('group') || null;
  v.cols = params.has('cols') ? list(params.get('cols')) : null;
  v.hidden = list(params.get('hide'));
  for (const pair of list(params.get('c'))) {
    const i = pair.lastIndexOf(':');
    if (i > 0 && /^#[0-9a-f]{6}$/i.test(pair.slice(i + 1))) v.colors[pair.slice(0, i)] = pair.slice(i + 1);
  }
  const n = Number(params.get('n'));
  if (params.has('n') && Number.isInteger(n) && n >= 1 && n <= 1000) v.n = n;
  v.x = params.get('x') || 'auto';
  const s = Number(params.get('smooth'));
  if (params.has('smooth') && s >= 0 && s < 1) v.smoothing = s;
  v.log = params.get('log') === '1';
  v.band = params.get('band') !== '0';
  const z = params.get('zoom');
  if (z) {
    const i = z.lastIndexOf(':');
    const j = z.lastIndexOf(':', i - 1);
    const min = Number(z.slice(j + 1, i));
    const max = Number(z.slice(i + 1));
    if (j > 0 && Number.isFinite(min) && Number.isFinite(max) && min < max) v.zoom = { x: z.slice(0, j), min, max };
  }
  v.collapsed = list(params.get('sec'));
  v.panels = params.get('panels') ?? '';
  v.open = list(params.get('open'));
  return v;
}

export function encodeView(v: WorkspaceView): URLSearchParams {
  const p = new URLSearchParams();
  if (v.search) p.set('q', v.search);
  for (const f of v.filters) p.append('f', filterText(f));
  if (v.sort.length) p.set('sort', sortText(v.sort));
  if (v.group) p.set('group', v.group);
  if (v.cols) p.set('cols', joinList(v.cols));
  if (v.hidden.length) p.set('hide', joinList(v.hidden));
  const colors = Object.entries(v.colors).map(([k, c]) => `${k}:${c}`);
  if (colors.length) p.set('c', joinList(colors));
  if (v.n !== DEFAULT_VIEW.n) p.set('n', String(v.n));
  if (v.x !== 'auto') p.set('x', v.x);
  if (v.smoothing) p.set('smooth', String(v.smoothing));
  if (v.log) p.set('log', '1');
  if (!v.band) p.set('band', '0');
  if (v.zoom) p.set('zoom', `${v.zoom.x}:${v.zoom.min}:${v.zoom.max}`);
  if (v.collapsed.length) p.set('sec', joinList(v.collapsed));
  if (v.panels) p.set('panels', v.panels);
  if (v.open.length) p.set('open', joinList(v.open));
  return p;
}
