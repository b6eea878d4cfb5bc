// Artifact pages in the router: /{entity}/{project}/artifacts[/{type}/{name}[/{version}]] and /registry.

export type ArtifactRoute =
  | { page: 'artifacts'; view: 'collections'; entity: string; project: string }
  | { page: 'artifacts'; view: 'collection'; entity: string; project: string; type: string; name: string }
  | {
      page: 'artifacts';
      view: 'version';
      entity: string;
      project: string;
      type: string;
      name: string;
      version: string;
    }
  | { page: 'artifacts'; view: 'registry' };

/** The artifact route for decoded path parts, or null when the path is not an artifact page. */
export function parseArtifactRoute(parts: string[]): ArtifactRoute | null {
  if (parts.length === 1 && parts[0] === 'registry') return { page: 'artifacts', view: 'registry' };
  if (parts.length < 3 || parts[2] !== 'artifacts') return null;
  const [entity, project] = parts;
  if (parts.length === 3) return { page: 'artifacts', view: 'collections', entity, project };
  if (parts.length === 5) return { page: 'artifacts', view: 'collection', entity, project, type: parts[3], name: parts[4] };
  if (parts.length === 6)
    return { page: 'artifacts', view: 'version', entity, project, type: parts[3], name: parts[4], version: parts[5] };
  return null;
}

const enc = encodeURIComponent;

export const artifactUrls = {
  collections: (e: string, p: string) => `/${enc(e)}/${enc(p)}/artifacts`,
  collection: (e: string, p: string, type: string, name: string) => `/${enc(e)}/${enc(p)}/artifacts/${enc(type)}/${enc(name)}`,
  version: (e: string, p: string, type: string, name: string, version: string, tab?: string) =>
    `/${enc(e)}/${enc(p)}/artifacts/${enc(type)}/${enc(name)}/${enc(version)}` + (tab ? `?tab=${enc(tab)}` : ''),
  run: (e: string, p: string, id: string) => `/${enc(e)}/${enc(p)}/runs/${enc(id)}`,
  registry: () => '/registry',
};
