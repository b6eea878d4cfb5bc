// Numbers, times and durations as people read them.

export function fmtNumber(v: unknown, digits = 4): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v !== 'number') return typeof v === 'string' ? v : JSON.stringify(v);
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(Math.max(0, digits - 1));
  return String(Number(v.toPrecision(digits)));
}

export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '';
  const s = Math.max(0, seconds);
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function fmtTime(epochSeconds: number | null | undefined): string {
  if (epochSeconds === null || epochSeconds === undefined) return '';
  const d = new Date(epochSeconds * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fmtAgo(epochSeconds: number | null | undefined, now = Date.now() / 1000): string {
  if (epochSeconds === null || epochSeconds === undefined) return '';
  const s = now - epochSeconds;
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function fmtBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** Axis tick labels for an x-axis: steps as integers, seconds as durations, wall time as clock time. */
export function fmtAxis(xKey: string, v: number): string {
  if (xKey === '_runtime') return fmtDuration(v);
  if (xKey === '_timestamp') {
    const d = new Date(v * 1000);
    return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}:${String(d.getSeconds()).padStart(2, '0')}`;
  }
  const a = Math.abs(v);
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e3) return `${Number((v / 1e3).toPrecision(3))}k`;
  return fmtNumber(v, 3);
}

export function axisLabel(xKey: string): string {
  return { _step: 'Step', _runtime: 'Relative time', _timestamp: 'Wall time' }[xKey] ?? xKey;
}

/** A typed value (``{_type: ...}``: media, tables, artifacts) in one cell: an artifact reference as
 *  ``name:version`` (how W&B's config holds an artifact the run used), anything else as ``<type>``. */
export function fmtTyped(v: { _type?: unknown; [key: string]: unknown }): string {
  if (v._type === 'artifactVersion' && typeof v.sequenceName === 'string') {
    return typeof v.version === 'string' ? `${v.sequenceName}:${v.version}` : v.sequenceName;
  }
  return `<${String(v._type)}>`;
}

/** A metric name as the user logged it: the store escapes a literal `.` (and `\`) in a key
 * with `\`, so that `{"0.bias": x}` stays one key and `{"a": {"b": x}}` is `a.b`. */
export function displayKey(name: string): string {
  return name.includes('\\') ? name.replace(/\\(.)/g, '$1') : name;
}
