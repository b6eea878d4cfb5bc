import type { Json } from './types';

/** Nested config/summary -> dotted keys. Media and histograms (objects with `_type`) stay one value. */
export function flatten(obj: Record<string, Json> | null | undefined, prefix = '', out: Record<string, Json> = {}): Record<string, Json> {
  if (!obj) return out;
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && !('_type' in v) && Object.keys(v).length > 0) {
      flatten(v as Record<string, Json>, key, out);
    } else {
      out[key] = v;
    }
  }
  return out;
}

/** A value read by a dotted key, trying the key as a whole first (keys may contain dots). */
export function lookup(obj: Record<string, Json> | null | undefined, key: string): Json | undefined {
  if (!obj) return undefined;
  if (key in obj) return obj[key];
  const parts = key.split('.');
  for (let i = parts.length - 1; i > 0; i--) {
    const head = parts.slice(0, i).join('.');
    const v = obj[head];
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const found = lookup(v as Record<string, Json>, parts.slice(i).join('.'));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
