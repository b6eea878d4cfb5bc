import { describe, expect, it } from 'vitest';
import { spliceSeries } from './seriesClient';
import type { Series } from './types';

const base: Series = {
  run: 'r', key: 'k', width: 10, x: [0, 9, 19, 25], last: [1, 2, 3, 4], min: [1, 0, 3, 4], max: [1, 2, 5, 4],
  exact: false, points: 26, cursor: 25,
};

describe('spliceSeries (live updates)', () => {
  it('replaces entries from the first changed bucket and keeps the rest', () => {
    const update: Series = { ...base, x: [29, 35], last: [7, 8], min: [4, 8], max: [7, 8], from: 20, cursor: 35, points: 16 };
    const s = spliceSeries(base, update);
    expect(s.x).toEqual([0, 9, 19, 29, 35]);
    expect(s.last).toEqual([1, 2, 3, 7, 8]);
    expect(s.min).toEqual([1, 0, 3, 4, 8]);
    expect(s.cursor).toBe(35);
  });

  it('expands exact (min = max = last) parts when mixing', () => {
    const exact: Series = { ...base, x: [0, 1], last: [5, 6], min: [], max: [], exact: true, cursor: 1 };
    const update: Series = { ...base, x: [1, 9], last: [6, 7], min: [6, 3], max: [6, 9], exact: false, from: 0, cursor: 9 };
    const s = spliceSeries(exact, update);
    expect(s.exact).toBe(false);
    expect(s.x).toEqual([1, 9]);
    const keep: Series = { ...update, from: 1 };
    expect(spliceSeries(exact, keep).min).toEqual([5, 6, 3]);
  });

  it('only moves the cursor when nothing is new', () => {
    const s = spliceSeries(base, { ...base, x: [], last: [], min: [], max: [], from: null, cursor: 25 });
    expect(s.x).toEqual(base.x);
  });
});

import { unpack } from './seriesClient';
import { alignLines } from './align';

describe('unpack (b64 columns)', () => {
  const b64 = (a: ArrayBufferView) => btoa(String.fromCharCode(...new Uint8Array(a.buffer)));

  it('decodes little-endian typed arrays, NaN as a gap', () => {
    expect(Array.from(unpack({ dtype: 'i4', b64: b64(new Int32Array([0, 5, -7])) }))).toEqual([0, 5, -7]);
    expect(Array.from(unpack({ dtype: 'f8', b64: b64(new Float64Array([1.5, NaN, 1e300])) }))).toEqual([1.5, NaN, 1e300]);
    const f4 = unpack({ dtype: 'f4', b64: b64(new Float32Array([0.1, 2])) });
    expect(f4[0]).toBeCloseTo(0.1, 7);
    expect(unpack({ dtype: 'f4', b64: '' }).length).toBe(0);
  });

  it('NaN and infinities become gaps when runs are aligned', () => {
    const a = alignLines([{ x: unpack({ dtype: 'i4', b64: b64(new Int32Array([0, 1, 2])) }) as ArrayLike<number>,
      y: unpack({ dtype: 'f8', b64: b64(new Float64Array([1, NaN, Infinity])) }) }], 1);
    expect(a.y[0]).toEqual([1, null, null]);
  });

  it('passes JSON columns through and rejects unknown types', () => {
    expect(unpack([1, null])).toEqual([1, null]);
    expect(() => unpack({ dtype: 'u8', b64: '' })).toThrow(/dtype u8/);
  });
});
