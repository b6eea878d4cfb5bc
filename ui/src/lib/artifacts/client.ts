// Fetching artifacts from /api/v1 (errors carry the server's message, as in lib/api.ts).

import { ApiError } from '../api';
import type { Collection, Lineage, Preview, RegisteredModel, Version, VersionDetail } from './types';

const enc = encodeURIComponent;

async function get<T>(path: string): Promise<T> {
  let resp: Response;
  try {
    resp = await fetch('/api/v1' + path);
  } catch (e) {
    throw new ApiError(0, `cannot reach the trackline server (${(e as Error).message})`);
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

export const artifactsBase = (e: string, p: string) => `/projects/${enc(e)}/${enc(p)}/artifacts`;
const versionBase = (e: string, p: string, name: string, version: string) =>
  `${artifactsBase(e, p)}/${enc(name)}/${enc(version)}`;

export const artifactsApi = {
  collections: (e: string, p: string, type?: string) =>
    get<{ collections: Collection[]; types: string[] }>(
      artifactsBase(e, p) + (type ? '?' + new URLSearchParams({ type }).toString() : ''),
    ),
  collection: (e: string, p: string, name: string) =>
    get<{ collection: Collection; versions: Version[] }>(`${artifactsBase(e, p)}/${enc(name)}`),
  version: (e: string, p: string, name: string, version: string) =>
    get<VersionDetail>(versionBase(e, p, name, version)),
  manifest: (e: string, p: string, name: string, version: string) =>
    get<Record<string, unknown>>(versionBase(e, p, name, version) + '/manifest'),
  lineage: (e: string, p: string, name: string, version: string, depth = 2) =>
    get<Lineage>(versionBase(e, p, name, version) + `/lineage?depth=${depth}`),
  preview: (e: string, p: string, name: string, version: string, path: string) =>
    get<Preview>(versionBase(e, p, name, version) + '/files/' + path.split('/').map(enc).join('/') + '?preview=1'),
  registry: () => get<{ models: RegisteredModel[] }>('/registry'),
  runArtifacts: (e: string, p: string, runId: string) =>
    get<{ logged: Version[]; used: Version[] }>(`/projects/${enc(e)}/${enc(p)}/runs/${enc(runId)}/artifacts`),
  fileUrl: (e: string, p: string, name: string, version: string, path: string, download = false) =>
    '/api/v1' + versionBase(e, p, name, version) + '/files/' + path.split('/').map(enc).join('/') +
    (download ? '?download=1' : ''),
  manifestUrl: (e: string, p: string, name: string, version: string) =>
    '/api/v1' + versionBase(e, p, name, version) + '/manifest',
};
