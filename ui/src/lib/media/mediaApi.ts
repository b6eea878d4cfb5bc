// Media endpoints (/api/v1/.../runs/{id}/media*): keys, values per step, files and table pages.

export type Ref = { _type: string; [k: string]: any };

export interface MediaKey {
  key: string;
  type: string;
  spec?: string;
  fields?: Record<string, string | null>;
  strings?: Record<string, string>;
  table_key?: string;
}

export interface StepValue {
  step: number;
  value: Ref;
}

export interface TablePage {
  key: string;
  columns: (string | number)[];
  column_types: string[];
  total: number;
  matched: number;
  offset: number;
  rows: any[][];
  ref: Ref;
}

export interface RunRef {
  entity: string;
  project: string;
  runId: string;
}

const enc = encodeURIComponent;
const base = (r: RunRef) => `/api/v1/projects/${enc(r.entity)}/${enc(r.project)}/runs/${enc(r.runId)}`;

async function get<T>(url: string): Promise<T> {
  const resp = await fetch(url);
  if (!resp.ok) {
    let message = `${resp.status} ${resp.statusText}`;
    try {
      message = (await resp.json())?.error?.message ?? message;
    } catch {
      /* not JSON */
    }
    throw new Error(message);
  }
  return (await resp.json()) as T;
}

export const mediaApi = {
  keys: (r: RunRef) => get<{ keys: MediaKey[] }>(base(r) + '/media').then((x) => x.keys),
  steps: (r: RunRef, key: string) =>
    get<{ steps: StepValue[] }>(base(r) + '/media/steps?' + new URLSearchParams({ key })).then((x) => x.steps),
  table: (r: RunRef, params: Record<string, string>) =>
    get<TablePage>(base(r) + '/media/table?' + new URLSearchParams(params).toString()),
  fileUrl: (r: RunRef, path: string) => base(r) + '/media/file/' + path.split('/').map(enc).join('/'),
  json: <T>(r: RunRef, path: string) => get<T>(base(r) + '/media/file/' + path.split('/').map(enc).join('/')),
};

// Which panel draws a media type.
export function panelKind(type: string): string {
  if (type === 'image-file' || type === 'images/separated') return 'image';
  if (type === 'table-file' || type === 'incremental-table-file') return 'table';
  if (type === 'histogram') return 'histogram';
  if (type === 'audio-file' || type === 'audio') return 'audio';
  if (type === 'video-file' || type === 'videos') return 'video';
  if (type === 'html-file' || type === 'html') return 'html';
  if (type === 'object3D-file' || type === 'object3D') return 'object3d';
  if (type === 'plotly-file') return 'plotly';
  if (type === 'chart') return 'chart';
  return 'other';
}

// One step's value as a list of single-file references (lists of media become several).
export function items(ref: Ref): Ref[] {
  switch (ref._type) {
    case 'images/separated':
      return (ref.filenames as string[]).map((path, i) => ({
        _type: 'image-file',
        path,
        width: ref.width,
        height: ref.height,
        caption: ref.captions ? ref.captions[i] : undefined,
        masks: ref.all_masks ? ref.all_masks[i] : undefined,
        boxes: ref.all_boxes ? ref.all_boxes[i] : undefined,
        classes: ref.classes,
      }));
    case 'audio':
      return ref.audio as Ref[];
    case 'videos':
      return ref.videos as Ref[];
    case 'html':
      return ref.html as Ref[];
    case 'object3D':
      return ref.objects as Ref[];
    default:
      return [ref];
  }
}

// A stable colour per class id, for masks and boxes.
export function classColor(id: number): [number, number, number] {
  const hue = (id * 137.508) % 360;
  const s = 0.65;
  const l = 0.5;
  const k = (n: number) => (n + hue / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [Math.round(f(0) * 255), Math.round(f(8) * 255), Math.round(f(4) * 255)];
}
