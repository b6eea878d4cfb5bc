import { describe, expect, it } from 'vitest';
import { alignLines, groupLine, slotKeys } from './align';

describe('alignLines', () => {
  it('uses the exact union of x when it is small', () => {
    const a = alignLines(
      [
        { x: [0, 2, 4], y: [1, 2, 3] },
        { x: [0, 3], y: [5, 6], lo: [4, 5], hi: [6, 7] },
      ],
      1,
    );
    expect(a.snapped).toBe(false);
    expect(a.x).toEqual([0, 2, 3, 4]);
    expect(a.y).toEqual([
      [1, 2, null, 3],
      [5, null, 6, null],
    ]);
    expect(a.lo[1]).toEqual([4, null, 5, null]);
    expect(a.hi[0]).toEqual([1, 2, null, 3]); // no band: hi = lo = y
  });

  it('snaps entries to shared buckets when the union would be too big', () => {
    // bucket width 10: run A's last points at 9, 19; run B's at 8, 17, 25
    const a = alignLines(
      [
        { x: [9, 19], y: [1, 2] },
        { x: [8, 17, 25], y: [3, 4, 5] },
      ],
      10,
      0,
    );
    expect(a.snapped).toBe(true);
    expect(a.x).toEqual([9, 19, 25]); // the largest x in each bucket
    expect(a.y).toEqual([
      [1, 2, null],
      [3, 4, 5],
    ]);
  });

  it('keeps a separate first point in its own column', () => {
    expect(slotKeys([0, 9, 15], 10)).toEqual([0, 1, 3]);
    expect(slotKeys([3, 15], 10)).toEqual([1, 3]);
    const a = alignLines([{ x: [0, 9, 15], y: [7, 1, 2] }, { x: [9, 19], y: [3, 4] }], 10, 0);
    expect(a.x).toEqual([0, 9, 19]);
    expect(a.y[0]).toEqual([7, 1, 2]);
    expect(a.y[1]).toEqual([null, 3, 4]);
  });

  it('keeps x strictly increasing', () => {
    const a = alignLines([{ x: [5, 5.5], y: [1, 2] }], 10, 0);
    expect(a.x.length).toBe(2);
    expect(a.x[1]).toBeGreaterThan(a.x[0]);
  });
});

describe('groupLine', () => {
  it('is the mean of the runs with a band from the lowest min to the highest max', () => {
    const g = groupLine(
      [
        { x: [1, 3], y: [1, 3], lo: [0, 2], hi: [2, 4] },
        { x: [1, 3], y: [3, 5], lo: [3, 5], hi: [3, 9] },
        { x: [3], y: [4] },
      ],
      2,
    );
    expect(g.x).toEqual([1, 3]);
    expect(g.y).toEqual([2, 4]);
    expect(g.lo).toEqual([0, 2]);
    expect(g.hi).toEqual([3, 9]);
  });

  it('ignores missing and non-finite values', () => {
    const g = groupLine([{ x: [0], y: [NaN] }, { x: [0], y: [2] }], 1);
    expect(g.y).toEqual([2]);
  });
});
