import { describe, expect, it } from 'vitest';
import { applyFilters, FilterSyntaxError, matches, parseFilter } from './filters';
import { flatten, lookup } from './flatten';
import { columnFor, compareValues, groupRuns, parseSort, sortRuns, sortText, valueOf } from './runs';
import type { Run } from './types';

function run(id: string, extra: Partial<Run> = {}): Run {
  return {
    id, entity: 'e', project: 'p', url: `/e/p/runs/${id}`, name: id, notes: null, tags: [], group: null,
    job_type: null, state: 'finished', reason: null, exit_code: 0, created_at: 0, updated_at: 0,
    heartbeat_at: null, finished_at: null, duration: null, host: null, sweep_id: null, last_step: null,
    history_rows: 0, config: {}, summary: {}, pinned_keys: [], ...extra,
  };
}

const runs = [
  run('a', { created_at: 1, config: { lr: 0.1, model: { depth: 50 } }, summary: { loss: 0.5 }, tags: ['base'], group: 'g1' }),
  run('b', { created_at: 2, config: { lr: 0.01, model: { depth: 18 } }, summary: { loss: 0.3 }, tags: ['exp', 'best'], group: 'g1', state: 'running' }),
  run('c', { created_at: 3, config: { lr: 0.01, opt: 'sgd' }, summary: {}, group: 'g2' }),
];

describe('values', () => {
  it('reads nested and dotted keys', () => {
    expect(valueOf(runs[0], 'config.model.depth')).toBe(50);
    expect(lookup({ 'a.b': 1 }, 'a.b')).toBe(1);
    expect(flatten({ a: { b: 1, c: { d: 2 } }, h: { _type: 'histogram', bins: [1] } })).toEqual({
      'a.b': 1, 'a.c.d': 2, h: { _type: 'histogram', bins: [1] },
    });
    expect(columnFor('summary.val/loss').label).toBe('val/loss');
  });
});

describe('filters', () => {
  it('parses expressions and says how to write a bad one', () => {
    expect(parseFilter('config.lr >= 0.01')).toEqual({ field: 'config.lr', op: '>=', value: '0.01' });
    expect(parseFilter('summary_metrics.loss<1')).toEqual({ field: 'summary.loss', op: '<', value: '1' });
    expect(parseFilter('tags has best').op).toBe('has');
    expect(parseFilter('state == running').op).toBe('=');
    expect(() => parseFilter('config.lr')).toThrow(FilterSyntaxError);
    expect(() => parseFilter('config.lr >')).toThrow(/e.g./);
  });

  const names = (text: string) => runs.filter((r) => matches(r, parseFilter(text))).map((r) => r.id);

  it('compares numbers, strings, lists and missing values', () => {
    expect(names('config.lr < 0.05')).toEqual(['b', 'c']);
    expect(names('config.lr = 0.1')).toEqual(['a']);
    expect(names('state = running')).toEqual(['b']);
    expect(names('tags has best')).toEqual(['b']);
    expect(names('tags != base')).toEqual(['b', 'c']);
    expect(names('summary.loss > 0')).toEqual(['a', 'b']); // c has no loss
    expect(names('config.opt != sgd')).toEqual(['a', 'b']); // missing counts as "not equal"
    expect(names('name ~ ^[ab]$')).toEqual(['a', 'b']);
    expect(names('config.opt = null')).toEqual(['a', 'b']);
  });

  it('combines filters and a search', () => {
    expect(applyFilters(runs, [parseFilter('config.lr < 0.05')], '').map((r) => r.id)).toEqual(['b', 'c']);
    expect(applyFilters(runs, [parseFilter('config.lr < 0.05')], 'C').map((r) => r.id)).toEqual(['c']);
    expect(applyFilters(runs, [], '(')).toEqual([]); // a bad regex searches for the text
  });
});

describe('sort and group', () => {
  it('sorts by several keys, missing values last either way', () => {
    const ids = (s: string) => sortRuns(runs, parseSort(s)).map((r) => r.id);
    expect(ids('')).toEqual(['c', 'b', 'a']); // newest first
    expect(ids('config.lr,-created_at')).toEqual(['c', 'b', 'a']);
    expect(ids('config.lr,created_at')).toEqual(['b', 'c', 'a']);
    expect(ids('summary.loss')).toEqual(['b', 'a', 'c']);
    expect(ids('-summary.loss')).toEqual(['a', 'b', 'c']);
    expect(sortText(parseSort('-a,b'))).toBe('-a,b');
    expect(compareValues(2, 'x', false)).toBeLessThan(0);
    expect(compareValues('run10', 'run9', false)).toBeGreaterThan(0); // natural order
  });

  it('groups in table order', () => {
    const g = groupRuns(sortRuns(runs, parseSort('config.lr')), 'config.lr');
    expect(g.map((x) => [x.key, x.runs.map((r) => r.id)])).toEqual([
      ['0.01', ['b', 'c']],
      ['0.1', ['a']],
    ]);
    const none = groupRuns(runs, 'config.opt');
    expect(none[0].label).toBe('(no opt)');
  });
});

import { colorFor, creationOrder, PALETTE } from './colors';

describe('colours', () => {
  it('follow creation order, so the first runs get distinct colours whatever the sort', () => {
    const order = creationOrder([
      { id: 'b', created_at: 2 },
      { id: 'a', created_at: 1 },
      { id: 'c', created_at: 3 },
    ]);
    expect(['a', 'b', 'c'].map((id) => colorFor(id, {}, order))).toEqual(PALETTE.slice(0, 3));
    expect(colorFor('b', { b: '#000000' }, order)).toBe('#000000');
    expect(PALETTE).toContain(colorFor('unknown', {}, order)); // falls back to the id's hash
  });
});
