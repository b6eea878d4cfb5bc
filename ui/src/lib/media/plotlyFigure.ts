// Plotly figures as stored by trackline.Plotly (the figure's JSON: data, layout, frames), fitted
// to a panel. Pure, so Vitest checks it without plotly.js; PlotlyPanel draws the result.

export interface Figure {
  data?: any[];
  layout?: Record<string, any>;
  frames?: any[];
}

export const DEFAULT_HEIGHT = 360;
const MIN_HEIGHT = 220;
const MAX_HEIGHT = 640;

// The figure's layout for a panel `width` pixels wide: its own height (clamped to what a
// panel shows well, 360 px when it has none), compact margins unless it sets its own (plotly's
// defaults of 80-100 px would leave a 400 px panel half empty; axes still grow with
// `automargin`), and in dark mode a dark twin of plotly's default template.
export function panelLayout(layout: Record<string, any> | undefined, width: number, dark: boolean): Record<string, any> {
  const own = layout ?? {};
  const asked = Number(own.height);
  const height = Number.isFinite(asked) && asked > 0 ? Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, asked)) : DEFAULT_HEIGHT;
  const out: Record<string, any> = { ...own, width: Math.max(1, Math.floor(width)), height, autosize: false };
  if (own.margin === undefined) {
    const titled = Boolean(own.title?.text ?? (typeof own.title === 'string' ? own.title : ''));
    out.margin = { l: 48, r: 16, t: titled ? 44 : 16, b: 40, pad: 0 };
  }
  if (dark && own.template) out.template = darkTemplate(own.template);
  return out;
}

// Colours of plotly's default template ("plotly", what plotly.py uses unless told otherwise)
// and the dark colours that replace them. Only that template is recoloured: a figure that
// picked its template (plotly_white, plotly_dark, ...) or set its colours keeps them.
const LIGHT_PLOT_BG = '#e5ecf6';
const TEXT = '#2a3f5f';
const DARK = {
  paper: 'rgba(0,0,0,0)', // the panel shows through
  plot: '#1e242d',
  grid: '#313a47',
  text: '#c9d1dc',
  line: '#3a4350',
};

function recolour(value: any, key: string): any {
  if (Array.isArray(value)) return value.map((v) => recolour(v, key));
  if (value && typeof value === 'object') {
    const out: Record<string, any> = {};
    for (const [k, v] of Object.entries(value)) out[k] = recolour(v, k);
    return out;
  }
  if (typeof value !== 'string') return value;
  const c = value.toLowerCase();
  if (key === 'paper_bgcolor' && c === 'white') return DARK.paper;
  if (c === LIGHT_PLOT_BG) return DARK.plot; // plot, polar, ternary, scene backgrounds
  if (c === TEXT) return DARK.text; // fonts, arrows, shape lines
  if (c === 'white' && /grid|zeroline|line|subunit|lake|bgcolor/.test(key)) return key.includes('bgcolor') || key === 'lakecolor' ? DARK.plot : DARK.grid;
  if (c === '#c8d4e3' || c === '#ebf0f8') return DARK.line;
  return value;
}

export function isDefaultTemplate(template: any): boolean {
  return String(template?.layout?.plot_bgcolor ?? '').toLowerCase() === LIGHT_PLOT_BG;
}

export function darkTemplate(template: any): any {
  if (!isDefaultTemplate(template)) return template;
  return recolour(template, 'template'); // layout and the per-trace defaults (bar outlines, table fills)
}

// Trace types plotly.js draws with WebGL (regl, stack.gl). Their shader code is compiled with
// `new Function`, which the app's CSP ('unsafe-eval' not allowed) refuses; they are drawn in a
// sandboxed frame instead (see PlotlyPanel).
const WEBGL_TRACES = new Set([
  'scattergl', 'scatterpolargl', 'splom', 'parcoords', 'scatter3d', 'surface', 'mesh3d', 'cone',
  'streamtube', 'isosurface', 'volume', 'scattermap', 'choroplethmap', 'densitymap',
  'scattermapbox', 'choroplethmapbox', 'densitymapbox',
]);

export function needsWebGL(figure: Figure): boolean {
  return (figure.data ?? []).some((t) => WEBGL_TRACES.has(String(t?.type ?? 'scatter')));
}

// A short description for the panel's data attributes and its fallback text.
export function traceTypes(figure: Figure): string[] {
  return [...new Set((figure.data ?? []).map((t) => String(t?.type ?? 'scatter')))];
}
