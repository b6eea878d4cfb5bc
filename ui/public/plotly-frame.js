// The inside of the sandboxed plotly frame (plotly-frame.html). The app posts
// {type: "plotly-draw", plotlyUrl, figure: {data, layout, frames}, config}; this loads plotly.js
// once (from the app's own /assets/, the only script source its CSP allows), draws the figure
// and answers {type: "plotly-frame", status: "ready" | "error", message}.
'use strict';
(function () {
  var plot = document.getElementById('plot');
  var loading = null;

  function load(url) {
    if (window.Plotly) return Promise.resolve(window.Plotly);
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        if (!/^\/assets\/[\w.-]+\.js$/.test(String(url))) return reject(new Error('unexpected plotly.js URL'));
        var s = document.createElement('script');
        s.src = url;
        s.onload = function () { resolve(window.Plotly); };
        s.onerror = function () { loading = null; reject(new Error('plotly.js did not load')); };
        document.head.appendChild(s);
      });
    }
    return loading;
  }

  function answer(msg) {
    msg.type = 'plotly-frame';
    parent.postMessage(msg, '*'); // the parent is the app; this frame's own origin is opaque
  }

  window.addEventListener('message', function (e) {
    if (e.source !== parent || !e.data || e.data.type !== 'plotly-draw') return;
    var m = e.data;
    load(m.plotlyUrl)
      .then(function (Plotly) {
        return Plotly.react(plot, { data: m.figure.data || [], layout: m.figure.layout || {}, frames: m.figure.frames, config: m.config || {} });
      })
      .then(function () {
        var noGL = plot.querySelector('.no-webgl') || /WebGL is not supported/.test(plot.textContent || '');
        answer(noGL ? { status: 'error', message: 'WebGL is not available in this browser' } : { status: 'ready' });
      })
      .catch(function (err) { answer({ status: 'error', message: String(err && err.message || err) }); });
  });
  answer({ status: 'loaded' });
})();
