// The debiased, gap-weighted EMA the server computes (trackline.storage.series.ema), in TypeScript.
//
// Each point decays the running average by weight ** (gap / unit): gap is the x distance to the
// previous point, unit the mean spacing of the series. Evenly logged series get the classic EMA;
// the average is divided by the accumulated weight so early values are not pulled toward 0.
// Non-finite values pass through. The server smooths every run over its whole history (so zoom
// does not change the curve); the UI uses this copy to preview a new smoothing weight at once
// while the server's answer for it is on its way.

export function ema(x: ArrayLike<number>, y: ArrayLike<number | null>, weight: number): (number | null)[] {
  if (!(weight >= 0 && weight < 1)) throw new RangeError(`smoothing weight must be in [0, 1), got ${weight}`);
  const out: (number | null)[] = Array.from(y as ArrayLike<number | null>);
  const idx: number[] = [];
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (v !== null && Number.isFinite(v)) idx.push(i);
  }
  if (weight === 0 || idx.length < 2) return out;
  const first = x[idx[0]];
  const unit = (x[idx[idx.length - 1]] - first) / (idx.length - 1);
  let num = 0;
  let den = 0;
  let prev = first - unit;
  for (const i of idx) {
    const a = unit > 0 ? Math.pow(weight, (x[i] - prev) / unit) : weight;
    num = a * num + (1 - a) * (y[i] as number);
    den = a * den + (1 - a);
    out[i] = den > 0 ? num / den : y[i];
    prev = x[i];
  }
  return out;
}
