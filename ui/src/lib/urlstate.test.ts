import { describe, expect, it } from 'vitest';
import { buildSections, panelX } from './sections';
import { axisLabel, displayKey, fmtDuration, fmtNumber, fmtTyped } from './format';
import { decodeView, DEFAULT_VIEW, encodeView, type WorkspaceView } from './urlstate';

describe('url state', () => {
  it('leaves the default view out of the URL', () => {
    expect(encodeView(DEFAULT_VIEW).toString()).toBe('');
    expect(decodeView(new URLSearchParams(''))).toEqual(DEFAULT_VIEW);
  });

  it('round-trips a whole view', () => {
    const v: WorkspaceView = {
      search: 'res.*net',
      filters: [{ field: 'config.lr', op: '>=', value: '0.01' }, { field: 'tags', op: 'has', value: 'a,b' }],
      sort: [{ id: 'summary.val/loss', desc: true }, { id: 'config.lr', desc: false }],
      group: 'config.opt',
      cols: ['state', 'config.lr', 'summary.a,b%'],
      hidden: ['r1', 'g:sgd'],
      colors: { r2: '#ff0000' },
      n: 50,
      x: '_runtime',
      smoothing: 0.8,
      log: true,
      band: false,
      zoom: { x: '_runtime', min: 1.5, max: 100 },
      collapsed: ['val', 'System'],
      panels: 'loss',
      open: ['sgd'],
    };
    const url = encodeView(v).toString();
    expect(decodeView(new URLSearchParams(url))).toEqual(v);
  });

  it('drops what it cannot read instead of failing', () => {
    const v = decodeView(new URLSearchParams('f=bogus&n=-3&smooth=2&zoom=x:5:1&c=r1:red'));
    expect(v.filters).toEqual([]);
    expect(v.n).toBe(DEFAULT_VIEW.n);
    expect(v.smoothing).toBe(0);
    expect(v.zoom).toBeNull();
    expect(v.colors).toEqual({});
  });

  it('reads a zoom on a key with colons', () => {
    expect(decodeView(new URLSearchParams('zoom=a:b:2:3')).zoom).toEqual({ x: 'a:b', min: 2, max: 3 });
  });
});

describe('sections', () => {
  const keys = ['train/loss', 'val/acc', 'lr', 'train/acc', 'epoch', '_runtime', 'secret'].map((name) => ({
    name, runs: 1, step_metric: name.startsWith('val/') ? 'epoch' : null, hidden: name === 'secret', goal: null,
  }));

  it('groups keys by the prefix before "/", Charts first and System last', () => {
    const s = buildSections(keys, ['system.cpu', 'system.gpu.0.gpu']);
    expect(s.map((x) => [x.name, x.panels.map((p) => p.key)])).toEqual([
      ['Charts', ['epoch', 'lr']],
      ['train', ['train/acc', 'train/loss']],
      ['val', ['val/acc']],
      ['System', ['system.cpu', 'system.gpu.0.gpu']],
    ]);
    expect(buildSections(keys, [], 'acc').map((x) => x.name)).toEqual(['train', 'val']);
  });

  it('picks the x-axis of a panel', () => {
    const [, , val, sys] = buildSections(keys, ['system.cpu']);
    expect(panelX(val.panels[0], 'auto')).toBe('epoch');
    expect(panelX(val.panels[0], '_step')).toBe('_step');
    expect(panelX(sys.panels[0], 'auto')).toBe('_runtime');
    expect(panelX(sys.panels[0], '_step')).toBe('_runtime');
  });
});

describe('format', () => {
  it('shows an artifact reference by name and version, other typed values by type', () => {
    const ref = { _type: 'artifactVersion', _version: 'v0', id: 'x', version: 'v3', sequenceName: 'data', usedAs: 'ds' };
    expect(fmtTyped(ref)).toBe('data:v3');
    expect(fmtTyped({ _type: 'artifactVersion', sequenceName: 'data', version: null })).toBe('data');
    expect(fmtTyped({ _type: 'image-file', path: 'a.png' })).toBe('<image-file>');
  });

  it('shows a key with literal dots as it was logged', () => {
    expect(displayKey('gradients/0\\.weight')).toBe('gradients/0.weight');
    expect(displayKey('a.b')).toBe('a.b');
    expect(displayKey('odd\\\\name')).toBe('odd\\name');
  });

  it('formats numbers, durations and axis names', () => {
    expect(fmtNumber(0.000012346)).toBe('1.235e-5');
    expect(fmtNumber(3)).toBe('3');
    expect(fmtNumber(0.123456)).toBe('0.1235');
    expect(fmtNumber(NaN)).toBe('NaN');
    expect(fmtDuration(3725)).toBe('1h 2m');
    expect(fmtDuration(0.25)).toBe('250ms');
    expect(axisLabel('_runtime')).toBe('Relative time');
    expect(axisLabel('epoch')).toBe('epoch');
  });
});
