// The REST API client. Errors carry the server's message (every API error is JSON).

import type { SweepDetail, SweepSummary } from './sweeps';
import type { KeyInfo, LogLine, Project, Run, RunDetail, RunFile, SeriesAnswer } from './types';

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  let resp: Response;
  try {
    resp = await fetch('/api/v1' + path, init);
  } catch (e) {
    throw new ApiError(0, `cannot reach the trackline server (${(e as Error).message}); is \`trackline ui\` still running?`);
  }
  if (!resp.ok) {
    let message = `${resp.status} ${resp.statusText}`;
    try {
      const body = await resp.json();
      if (body?.error?.message) message = body.error.message;
    } catch {
      /* not JSON */
    }
    throw new ApiError(resp.status, message);
  }
  return (await resp.json()) as T;
}

const enc = encodeURIComponent;
const projectPath = (e: string, p: string) => `/projects/${enc(e)}/${enc(p)}`;
const runPath = (e: string, p: string, id: string) => `${projectPath(e, p)}/runs/${enc(id)}`;

export const api = {
  projects: () => request<{ projects: Project[] }>('/projects').then((r) => r.projects),
  project: (e: string, p: string) => request<Project>(projectPath(e, p)),
  keys: (e: string, p: string) =>
    request<{ keys: KeyInfo[]; system_keys: { name: string; runs: number }[] }>(projectPath(e, p) + '/keys'),
  runsPage: (e: string, p: string, params: Record<string, string>) =>
    request<{ runs: Run[]; total: number; next_cursor: string | null }>(
      projectPath(e, p) + '/runs?' + new URLSearchParams(params).toString(),
    ),
  run: (e: string, p: string, id: string) => request<RunDetail>(runPath(e, p, id)),
  patchRun: (e: string, p: string, id: string, body: Record<string, unknown>) =>
    request<RunDetail>(runPath(e, p, id), {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  logs: (e: string, p: string, id: string, search: string) =>
    request<{ lines: LogLine[]; total: number; truncated: boolean; source: string | null }>(
      runPath(e, p, id) + '/logs?' + new URLSearchParams(search ? { search } : {}).toString(),
    ),
  files: (e: string, p: string, id: string) => request<{ files: RunFile[] }>(runPath(e, p, id) + '/files'),
  fileUrl: (e: string, p: string, id: string, path: string) =>
    '/api/v1' + runPath(e, p, id) + '/files/' + path.split('/').map(enc).join('/'),
  series: (e: string, p: string, body: Record<string, unknown>) =>
    request<SeriesAnswer>(projectPath(e, p) + '/series', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  sweeps: (e: string, p: string) =>
    request<{ sweeps: SweepSummary[] }>(projectPath(e, p) + '/sweeps').then((r) => r.sweeps),
  sweep: (e: string, p: string, id: string) => request<SweepDetail>(`${projectPath(e, p)}/sweeps/${enc(id)}`),
};

/** Every run of a project, page by page; ``onPage`` sees the runs so far after each page. */
export async function fetchAllRuns(e: string, p: string, onPage?: (runs: Run[], total: number) => void): Promise<Run[]> {
  const out: Run[] = [];
  let cursor: string | null = null;
  for (;;) {
    // a small first page comes back fast: newest runs first, which is what charts draw by default
    const params: Record<string, string> = { per_page: out.length ? '5000' : '200' };
    if (cursor) params.cursor = cursor;
    const page = await api.runsPage(e, p, params);
    out.push(...page.runs);
    onPage?.(out.slice(), page.total);
    cursor = page.next_cursor;
    if (!cursor) return out;
  }
}
