// A tiny History-API router: the location as reactive state, and links that don't reload.

import { parseArtifactRoute, type ArtifactRoute } from './artifacts/routes';
import { parseSweepRoute, type SweepRoute } from './sweeps';

export const location = $state({ path: window.location.pathname, search: window.location.search });

function sync() {
  location.path = window.location.pathname;
  location.search = window.location.search;
}

window.addEventListener('popstate', sync);

export function navigate(url: string, replace = false) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  sync();
  if (!replace) window.scrollTo(0, 0);
}

/** Replace the query string without a new history entry (view state changes). */
export function setQuery(params: URLSearchParams) {
  const q = params.toString();
  const url = window.location.pathname + (q ? '?' + q : '');
  if (url !== window.location.pathname + window.location.search) {
    history.replaceState(null, '', url);
    location.search = window.location.search;
  }
}

/** Same-origin links navigate in place; modified clicks and downloads behave as usual. */
export function interceptLinks(root: HTMLElement) {
  root.addEventListener('click', (ev) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    const a = (ev.target as HTMLElement).closest('a');
    if (!a || a.target || a.hasAttribute('download')) return;
    const href = a.getAttribute('href');
    if (!href || !href.startsWith('/') || href.startsWith('/api/')) return;
    ev.preventDefault();
    navigate(href);
  });
}

export type Route =
  | { page: 'projects' }
  | { page: 'workspace'; entity: string; project: string }
  | { page: 'run'; entity: string; project: string; runId: string }
  | ArtifactRoute
  | SweepRoute
  | { page: 'missing' };

export function parseRoute(path: string): Route {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { page: 'projects' };
  if (parts.length === 2) return { page: 'workspace', entity: parts[0], project: parts[1] };
  if (parts.length === 4 && parts[2] === 'runs') return { page: 'run', entity: parts[0], project: parts[1], runId: parts[3] };
  return parseArtifactRoute(parts) ?? parseSweepRoute(parts) ?? { page: 'missing' };
}
