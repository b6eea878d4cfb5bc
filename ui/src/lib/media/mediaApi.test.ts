import { describe, expect, it } from 'vitest';
import { classColor, items, panelKind } from './mediaApi';

describe('media helpers', () => {
  it('maps every W&B media type to a panel', () => {
    expect(panelKind('image-file')).toBe('image');
    expect(panelKind('images/separated')).toBe('image');
    expect(panelKind('incremental-table-file')).toBe('table');
    expect(panelKind('histogram')).toBe('histogram');
    expect(panelKind('videos')).toBe('video');
    expect(panelKind('object3D-file')).toBe('object3d');
    expect(panelKind('chart')).toBe('chart');
    expect(panelKind('molecule-file')).toBe('other');
  });

  it('splits an images/separated value into one reference per image', () => {
    const refs = items({
      _type: 'images/separated', width: 4, height: 3, format: 'png', count: 2,
      filenames: ['media/images/a_0_x.png', 'media/images/a_0_y.png'], captions: ['one', 'two'],
      all_masks: [null, { m: { _type: 'mask', path: 'media/images/mask/a.mask.png' } }],
    });
    expect(refs.map((r) => [r.path, r.caption, r.width])).toEqual([
      ['media/images/a_0_x.png', 'one', 4],
      ['media/images/a_0_y.png', 'two', 4],
    ]);
    expect(refs[1].masks.m._type).toBe('mask');
    expect(items({ _type: 'audio', audio: [{ _type: 'audio-file', path: 'p' }] })).toHaveLength(1);
  });

  it('gives each class a stable, distinct colour', () => {
    expect(classColor(3)).toEqual(classColor(3));
    expect(classColor(1)).not.toEqual(classColor(2));
    for (const c of classColor(7)) expect(c).toBeGreaterThanOrEqual(0);
  });
});
