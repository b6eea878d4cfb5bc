import { describe, expect, it } from 'vitest';
import { DEFAULT_HEIGHT, darkTemplate, isDefaultTemplate, needsWebGL, panelLayout, traceTypes } from './plotlyFigure';

// The parts of plotly.py's default "plotly" template that carry colours.
const plotlyTemplate = () => ({
  data: { bar: [{ marker: { line: { color: '#E5ECF6', width: 0.5 } }, type: 'bar' }] },
  layout: {
    paper_bgcolor: 'white',
    plot_bgcolor: '#E5ECF6',
    font: { color: '#2a3f5f' },
    colorway: ['#636efa', '#EF553B'],
    xaxis: { gridcolor: 'white', linecolor: 'white', zerolinecolor: 'white', automargin: true },
    scene: { xaxis: { backgroundcolor: '#E5ECF6', gridcolor: 'white' } },
    geo: { bgcolor: 'white', lakecolor: 'white', landcolor: '#E5ECF6' },
  },
});

describe('plotly figures in a panel', () => {
  it('fits the panel width, keeps a sane height and compact margins', () => {
    const l = panelLayout({ title: { text: 'Loss' }, width: 1200, height: 2000 }, 431.6, false);
    expect(l.width).toBe(431);
    expect(l.height).toBe(640); // clamped
    expect(l.autosize).toBe(false);
    expect(l.margin.t).toBeGreaterThan(l.margin.b - 10); // room for the title
    expect(panelLayout(undefined, 400, false).height).toBe(DEFAULT_HEIGHT);
    expect(panelLayout({ height: 100 }, 400, false).height).toBe(220);
    expect(panelLayout({ margin: { l: 5 } }, 400, false).margin).toEqual({ l: 5 }); // the figure's own
    expect(panelLayout({}, 400, false).margin.t).toBeLessThan(30); // no title, no title room
  });

  it('gives plotly\'s default template a dark twin, and leaves other templates alone', () => {
    const t = plotlyTemplate();
    expect(isDefaultTemplate(t)).toBe(true);
    const d = darkTemplate(t);
    expect(d.layout.paper_bgcolor).toBe('rgba(0,0,0,0)');
    expect(d.layout.plot_bgcolor).not.toBe('#E5ECF6');
    expect(d.layout.font.color).not.toBe('#2a3f5f');
    expect(d.layout.xaxis.gridcolor).not.toBe('white');
    expect(d.layout.xaxis.automargin).toBe(true);
    expect(d.layout.colorway).toEqual(['#636efa', '#EF553B']); // trace colours untouched
    expect(d.layout.scene.xaxis.backgroundcolor).toBe(d.layout.plot_bgcolor);
    expect(d.layout.geo.landcolor).toBe(d.layout.plot_bgcolor);
    expect(d.data.bar[0].marker.line.color).toBe(d.layout.plot_bgcolor); // bar outlines match the plot
    expect(t.layout.plot_bgcolor).toBe('#E5ECF6'); // the stored figure is not changed

    const white = { layout: { plot_bgcolor: 'white', paper_bgcolor: 'white' } }; // plotly_white
    expect(darkTemplate(white)).toBe(white);
    const l = panelLayout({ template: plotlyTemplate(), plot_bgcolor: '#123456' }, 400, true);
    expect(l.plot_bgcolor).toBe('#123456'); // the figure's own colour wins over any template
    expect(l.template.layout.plot_bgcolor).not.toBe('#E5ECF6');
    expect(panelLayout({ template: plotlyTemplate() }, 400, false).template.layout.plot_bgcolor).toBe('#E5ECF6');
  });

  it('knows which figures need WebGL (drawn in the sandboxed frame)', () => {
    expect(needsWebGL({ data: [{ type: 'bar' }, { type: 'heatmap' }, {}] })).toBe(false);
    expect(needsWebGL({ data: [{ type: 'scatter' }, { type: 'scattergl' }] })).toBe(true);
    expect(needsWebGL({ data: [{ type: 'surface' }] })).toBe(true);
    expect(needsWebGL({})).toBe(false);
    expect(traceTypes({ data: [{}, { type: 'bar' }, { type: 'bar' }] })).toEqual(['scatter', 'bar']);
  });
});
