import { describe, expect, it } from 'vitest';
import {
  axisPos,
  axisTicks,
  bestRun,
  buildAxis,
  defaultSort,
  gradient,
  isLogParam,
  layoutParallel,
  nearestLine,
  nextSort,
  paramSpec,
  paramValue,
  parseSweepRoute,
  sortSweepRuns,
  toYaml,
  type SweepDetail,
  type SweepRun,
} from './sweeps';

function run(id: string, params: Record<string, unknown>, metric: number | null, extra: Partial<SweepRun> = {}): SweepRun {
  return { id, name: `run-${id}`, state: 'finished', created_at: 0, params, metric, ...extra };
}

const config = {
  method: 'bayes',
  metric: { name: 'val/loss', goal: 'minimize' },
  parameters: {
    lr: { distribution: 'log_uniform_values', min: 1e-4, max: 1e-1 },
    batch_size: { values: [64, 16, 32] },
    opt: { values: ['adam', 'sgd'] },
    model: { parameters: { width: { distribution: 'q_log_uniform_values', min: 32, max: 512, q: 32 }, act: { value: 'relu' } } },
    dropout: { distribution: 'uniform', min: 0, max: 0.5 },
  },
};

describe('routes', () => {
  it('parses the W&B sweep URLs', () => {
    expect(parseSweepRoute(['e', 'p', 'sweeps'])).toEqual({ page: 'sweeps', entity: 'e', project: 'p' });
    expect(parseSweepRoute(['e', 'p', 'sweeps', 'ab12'])).toEqual({ page: 'sweep', entity: 'e', project: 'p', sweepId: 'ab12' });
    expect(parseSweepRoute(['e', 'p', 'runs', 'ab12'])).toBeNull();
    expect(parseSweepRoute(['e', 'p', 'sweeps', 'a', 'b'])).toBeNull();
    expect(parseSweepRoute(['e', 'p'])).toBeNull();
  });
});

describe('config specs', () => {
  it('finds top-level and nested parameter specs', () => {
    expect(paramSpec(config, 'lr')?.distribution).toBe('log_uniform_values');
    expect(paramSpec(config, 'model.width')?.q).toBe(32);
    expect(paramSpec(config, 'model.nope')).toBeNull();
    expect(paramSpec({}, 'lr')).toBeNull();
    expect(paramSpec(null, 'lr')).toBeNull();
    expect(paramSpec({ parameters: { 'a.b': { value: 1 } } }, 'a.b')).toEqual({ value: 1 });
  });

  it('knows which parameters are drawn on a log scale', () => {
    expect(isLogParam(config, 'lr')).toBe(true);
    expect(isLogParam(config, 'model.width')).toBe(true);
    expect(isLogParam(config, 'dropout')).toBe(false);
    expect(isLogParam(config, 'batch_size')).toBe(false);
    expect(isLogParam(config, 'missing')).toBe(false);
  });

  it('reads flat dotted and nested parameter values', () => {
    expect(paramValue({ 'model.width': 128 }, 'model.width')).toBe(128);
    expect(paramValue({ model: { width: 64 } }, 'model.width')).toBe(64);
    expect(paramValue({ model: 3 }, 'model.width')).toBeUndefined();
    expect(paramValue(undefined, 'lr')).toBeUndefined();
  });
});

describe('axes', () => {
  it('scales numbers linearly from min to max', () => {
    const a = buildAxis('d', 'd', [0, 0.25, 0.5]);
    expect(a.kind).toBe('linear');
    expect(axisPos(a, 0)).toBe(0);
    expect(axisPos(a, 0.5)).toBe(1);
    expect(axisPos(a, 0.25)).toBeCloseTo(0.5);
    expect(a.hasMissing).toBe(false);
  });

  it('scales log axes by orders of magnitude', () => {
    const a = buildAxis('lr', 'lr', [0.001, 0.01, 0.1], { log: true });
    expect(a.kind).toBe('log');
    expect(axisPos(a, 0.001)).toBeCloseTo(0);
    expect(axisPos(a, 0.01)).toBeCloseTo(0.5);
    expect(axisPos(a, 0.1)).toBeCloseTo(1);
    // a linear axis puts 0.01 near the bottom
    expect(axisPos(buildAxis('lr', 'lr', [0.001, 0.01, 0.1]), 0.01)).toBeCloseTo(0.0909, 3);
    const ticks = axisTicks(a).map((t) => t.label);
    expect(ticks).toEqual(['0.001', '0.01', '0.1']);
  });

  it('falls back to linear when a log axis has values <= 0', () => {
    const a = buildAxis('x', 'x', [0, 1, 10], { log: true });
    expect(a.kind).toBe('linear');
    expect(axisPos(a, 10)).toBe(1);
  });

  it('places one value (or equal values) in the middle', () => {
    expect(axisPos(buildAxis('x', 'x', [3, 3]), 3)).toBe(0.5);
    expect(axisPos(buildAxis('x', 'x', ['a']), 'a')).toBe(0.5);
    expect(axisTicks(buildAxis('x', 'x', [3, 3]))).toEqual([{ pos: 0.5, label: '3' }]);
  });

  it('spaces categories evenly, in the config order first', () => {
    const a = buildAxis('opt', 'opt', ['sgd', 'adam', 'rmsprop', 'adam'], { order: ['sgd', 'adam'] });
    expect(a.kind).toBe('categorical');
    expect(a.categories).toEqual(['sgd', 'adam', 'rmsprop']);
    expect(axisPos(a, 'sgd')).toBe(0);
    expect(axisPos(a, 'adam')).toBe(0.5);
    expect(axisPos(a, 'rmsprop')).toBe(1);
    expect(axisPos(a, 'other')).toBeNull();
    expect(axisTicks(a).map((t) => t.pos)).toEqual([0, 0.5, 1]);
  });

  it('makes mixed, boolean and object values categorical, numbers before strings', () => {
    const a = buildAxis('m', 'm', [2, 'x', 1, true, { a: 1 }]);
    expect(a.kind).toBe('categorical');
    expect(a.categories).toEqual(['1', '2', 'true', 'x', '{"a":1}']);
    expect(axisPos(a, { a: 1 })).toBe(1);
  });

  it('never throws on missing values: they have no position and flag the axis', () => {
    const a = buildAxis('x', 'x', [1, null, undefined, NaN, 2]);
    expect(a.kind).toBe('linear');
    expect(a.hasMissing).toBe(true);
    expect(axisPos(a, null)).toBeNull();
    expect(axisPos(a, undefined)).toBeNull();
    expect(axisPos(a, NaN)).toBeNull();
    expect(axisPos(a, 'text')).toBeNull();
    const empty = buildAxis('y', 'y', [null, undefined]);
    expect(empty.kind).toBe('categorical');
    expect(empty.categories).toEqual([]);
    expect(axisTicks(empty)).toEqual([]);
  });

  it('gives round linear ticks inside the range', () => {
    const labels = axisTicks(buildAxis('x', 'x', [0, 100])).map((t) => t.label);
    expect(labels[0]).toBe('0');
    expect(labels[labels.length - 1]).toBe('100');
    expect(labels).toContain('40');
    const many = axisTicks(buildAxis('c', 'c', Array.from({ length: 100 }, (_, i) => `c${i}`)));
    expect(many.length).toBeLessThanOrEqual(14);
    expect(many[many.length - 1].label).toBe('c99');
  });
});

describe('best run', () => {
  const runs = [run('a', {}, 0.5), run('b', {}, null), run('c', {}, 0.1), run('d', {}, 0.9), run('e', {}, NaN)];
  it('minimizes by default and maximizes when asked', () => {
    expect(bestRun(runs, 'minimize')?.id).toBe('c');
    expect(bestRun(runs, undefined)?.id).toBe('c');
    expect(bestRun(runs, 'maximize')?.id).toBe('d');
  });
  it('is null without metrics; ties keep the first', () => {
    expect(bestRun([run('a', {}, null)], 'minimize')).toBeNull();
    expect(bestRun([], 'maximize')).toBeNull();
    expect(bestRun([run('a', {}, 1), run('b', {}, 1)], 'minimize')?.id).toBe('a');
  });
});

describe('sorting', () => {
  const runs = [
    run('a', { lr: 0.1, opt: 'sgd' }, 0.5),
    run('b', { lr: 0.01 }, null),
    run('c', { lr: 0.001, opt: 'adam' }, 0.1),
    run('d', { opt: 'adam' }, 0.9),
  ];
  const ids = (rs: SweepRun[]) => rs.map((r) => r.id).join('');
  it('sorts by the metric with nulls last in both directions', () => {
    expect(ids(sortSweepRuns(runs, { key: 'metric', desc: false }))).toBe('cadb');
    expect(ids(sortSweepRuns(runs, { key: 'metric', desc: true }))).toBe('dacb');
  });
  it('sorts by parameters, missing ones last, stable among equals', () => {
    expect(ids(sortSweepRuns(runs, { key: 'param:lr', desc: false }))).toBe('cbad');
    expect(ids(sortSweepRuns(runs, { key: 'param:lr', desc: true }))).toBe('abcd');
    expect(ids(sortSweepRuns(runs, { key: 'param:opt', desc: false }))).toBe('cdab');
    expect(ids(sortSweepRuns(runs, { key: 'name', desc: true }))).toBe('dcba');
  });
  it('does not change its input', () => {
    const copy = [...runs];
    sortSweepRuns(runs, { key: 'metric', desc: false });
    expect(runs).toEqual(copy);
  });
  it('starts with the best first, by goal, and flips on a second click', () => {
    expect(defaultSort({ name: 'loss', goal: 'minimize' })).toEqual({ key: 'metric', desc: false });
    expect(defaultSort({ name: 'acc', goal: 'maximize' })).toEqual({ key: 'metric', desc: true });
    expect(defaultSort(null)).toEqual({ key: 'created_at', desc: true });
    const s = defaultSort({ name: 'loss', goal: 'minimize' });
    expect(nextSort(s, 'metric', null)).toEqual({ key: 'metric', desc: true });
    expect(nextSort(s, 'param:lr', null)).toEqual({ key: 'param:lr', desc: false });
  });
});

describe('parallel coordinates layout', () => {
  const detail: Pick<SweepDetail, 'config' | 'parameters' | 'runs' | 'metric'> = {
    config,
    parameters: ['lr', 'opt'],
    metric: { name: 'val/loss', goal: 'minimize' },
    runs: [
      run('a', { lr: 0.001, opt: 'adam' }, 0.2),
      run('b', { lr: 0.1, opt: 'sgd' }, 0.8),
      run('c', { lr: 0.01 }, null),
      run('d', { lr: 'oops', opt: 'adam' }, 0.5),
    ],
  };
  const L = layoutParallel(detail, 'a', 600, 300);

  it('has one axis per parameter and the metric last', () => {
    expect(L.axes.map((a) => a.label)).toEqual(['lr', 'opt', 'val/loss']);
    expect(L.axes.map((a) => a.kind)).toEqual(['categorical', 'categorical', 'linear']);
    expect(L.xs[0]).toBeLessThan(L.xs[1]);
    expect(L.xs[1]).toBeLessThan(L.xs[2]);
  });

  it('draws runs without a metric first and grey, the best run last', () => {
    expect(L.lines.map((l) => l.run.id)).toEqual(['c', 'b', 'd', 'a']);
    expect(L.lines[0].hasMetric).toBe(false);
    expect(L.lines[0].color).toBe('#9aa1ab');
    expect(L.lines[3].best).toBe(true);
    expect(L.lines[3].color).toBe(gradient(0));
    expect(gradient(1)).toBe('rgb(217, 54, 62)');
  });

  it('puts missing values in the n/a slot below the axes', () => {
    const c = L.lines[0];
    expect(c.ys[1]).toBe(L.naY);
    expect(c.ys[2]).toBe(L.naY);
    expect(L.naY).toBeGreaterThan(L.bottom);
    for (const l of L.lines) expect(l.points.split(' ')).toHaveLength(3);
  });

  it('log-scales a numeric log parameter', () => {
    const L2 = layoutParallel({ ...detail, runs: detail.runs.slice(0, 3) }, null, 600, 300);
    expect(L2.axes[0].kind).toBe('log');
    const mid = L2.lines.find((l) => l.run.id === 'c')!;
    expect(mid.ys[0]).toBeCloseTo((L2.top + L2.bottom) / 2);
  });

  it('finds the line under the pointer', () => {
    const a = L.lines[3];
    expect(nearestLine(L, L.xs[0], a.ys[0] + 2)?.run.id).toBe('a');
    expect(nearestLine(L, L.xs[2] + 30, a.ys[2])?.run.id).toBe('a');
    expect(nearestLine(L, L.xs[0], -100)).toBeNull();
    expect(nearestLine({ ...L, lines: [] }, 0, 0)).toBeNull();
  });

  it('takes parameter names from the runs when the API has none, once each', () => {
    const D = layoutParallel({ config: {}, parameters: [], runs: [run('x', { a: 1, b: 'q' }, null), run('y', { b: 'r', c: true }, 1)], metric: null }, null, 400, 300);
    expect(D.axes.map((a) => a.label)).toEqual(['a', 'b', 'c', 'metric']);
    const dup = layoutParallel({ ...detail, parameters: ['lr', 'lr'] }, null, 400, 300);
    expect(dup.axes.map((a) => a.label)).toEqual(['lr', 'val/loss']);
  });

  it('copes with no runs and no parameters', () => {
    const E = layoutParallel({ config: {}, parameters: [], runs: [], metric: null }, null, 400, 300);
    expect(E.axes.map((a) => a.label)).toEqual(['metric']);
    expect(E.lines).toEqual([]);
  });

  it('lays out a few hundred runs quickly', () => {
    const many = Array.from({ length: 800 }, (_, i) =>
      run(String(i), { lr: 10 ** (-4 + (i % 30) / 10), opt: i % 3 ? 'adam' : 'sgd', 'model.width': 32 * (i % 16) }, i % 7 ? i / 800 : null),
    );
    const t0 = performance.now();
    const M = layoutParallel({ config, parameters: ['lr', 'opt', 'model.width'], runs: many, metric: null }, '5', 1200, 360);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(M.lines).toHaveLength(800);
    expect(M.lines[799].run.id).toBe('5');
  });
});

describe('config as YAML', () => {
  it('writes nested blocks, inline scalar lists, and quotes what needs it', () => {
    const y = toYaml({
      method: 'grid',
      metric: { name: 'val/loss', goal: 'minimize' },
      parameters: { lr: { values: [0.001, 0.01] }, opt: { values: ['adam', 'yes'] }, e: {} },
      command: ['${env}', 'python', '${program}'],
      early: [{ type: 'hyperband', min_iter: 3 }],
      n: null,
    });
    expect(y).toBe(
      [
        'method: grid',
        'metric:',
        '  name: val/loss',
        '  goal: minimize',
        'parameters:',
        '  lr:',
        '    values: [0.001, 0.01]',
        '  opt:',
        '    values: [adam, "yes"]',
        '  e: {}',
        'command: ["${env}", python, "${program}"]',
        'early:',
        '  - type: hyperband',
        '    min_iter: 3',
        'n: null',
      ].join('\n'),
    );
  });
});
