import { describe, expect, it } from 'vitest';
import fixture from './fixtures/ema.json';
import { ema } from './smoothing';

describe('ema', () => {
  it('matches the server (fixture written from trackline.storage.series.ema)', () => {
    for (const c of fixture.cases) {
      const got = ema(c.x, c.y, c.weight);
      c.smooth.forEach((want, i) => {
        if (want === null) expect(got[i]).toBeNull();
        else expect(got[i]).toBeCloseTo(want, 10);
      });
    }
  });

  it('is the classic debiased EMA for evenly spaced points', () => {
    const y = [4, 8, 2, 6];
    const got = ema([0, 10, 20, 30], y, 0.5);
    let num = 0;
    let den = 0;
    y.forEach((v, i) => {
      num = 0.5 * num + 0.5 * v;
      den = 0.5 * den + 0.5;
      expect(got[i]).toBeCloseTo(num / den, 12);
    });
    expect(got[0]).toBe(4); // debiased: not pulled toward zero
  });

  it('forgets more over long gaps', () => {
    const even = ema([0, 1, 2, 3], [0, 0, 0, 10], 0.9);
    const gap = ema([0, 1, 2, 30], [0, 0, 0, 10], 0.9);
    expect(gap[3]!).toBeGreaterThan(even[3]!);
  });

  it('passes nulls and NaN through and rejects bad weights', () => {
    expect(ema([0, 1, 2], [1, null, 3], 0.5)[1]).toBeNull();
    expect(Number.isNaN(ema([0, 1, 2], [1, NaN, 3], 0.5)[1] as number)).toBe(true);
    expect(() => ema([0], [1], 1)).toThrow(/\[0, 1\)/);
    expect(ema([0, 1], [1, 2], 0)).toEqual([1, 2]);
  });
});
