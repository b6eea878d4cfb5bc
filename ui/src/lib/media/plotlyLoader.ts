// plotly.js, loaded the first time a plotly panel is shown. Vite emits the package's own
// minified bundle (plotly.min.js, ~4.6 MB) unchanged as a hashed asset (`?url`), loaded as a
// classic script, so one file serves both the page (for figures drawn with SVG) and the
// sandboxed frame that draws WebGL figures (public/plotly-frame.html), where a module chunk
// would need CORS: that frame's origin is opaque.
import plotlyUrl from 'plotly.js-dist-min/plotly.min.js?url';

export { plotlyUrl };

let loading: Promise<any> | null = null;

export function loadPlotly(): Promise<any> {
  loading ??= new Promise((resolve, reject) => {
    const have = (window as any).Plotly;
    if (have) return resolve(have);
    const script = document.createElement('script');
    script.src = plotlyUrl;
    script.async = true;
    script.onload = () => resolve((window as any).Plotly);
    script.onerror = () => {
      loading = null;
      reject(new Error('plotly.js did not load'));
    };
    document.head.appendChild(script);
  });
  return loading;
}
