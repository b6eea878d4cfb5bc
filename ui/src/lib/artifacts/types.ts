// Shapes of the artifact endpoints (src/trackline/server/artifacts.py).

export interface RunRef {
  run_id: string;
  name: string | null;
  state: string;
  entity: string;
  project: string;
}

export interface Collection {
  name: string;
  type: string;
  entity: string;
  project: string;
  is_portfolio: boolean;
  version_count: number;
  aliases: string[];
  description: string | null;
  tags: string[];
  created_at: number;
  updated_at: number;
}

export interface SourceRef {
  entity: string;
  project: string;
  name: string;
  version: string;
}

export interface Version {
  id: string;
  name: string;
  collection: string;
  version: string;
  type: string;
  entity: string;
  project: string;
  aliases: string[];
  tags: string[];
  digest: string | null;
  size: number | null;
  file_count: number | null;
  created_at: number;
  description: string | null;
  metadata: Record<string, unknown>;
  ttl_seconds: number | null;
  is_link: boolean;
  source: SourceRef | null;
  logged_by?: RunRef | null;
}

export interface FileEntry {
  path: string;
  size: number | null;
  digest: string;
  ref: string | null;
  stored: boolean;
}

export interface VersionDetail extends Version {
  used_by: RunRef[];
  links: (SourceRef & { aliases: string[] })[];
  files_total: number;
  files: FileEntry[];
}

export interface LineageNode {
  id: string;
  kind: 'run' | 'artifact';
  label: string;
  type?: string;
  entity: string;
  project: string;
  collection?: string;
  version?: string;
  run_id?: string;
  state?: string;
}

export interface LineageEdge {
  from: string;
  to: string;
  kind: 'input' | 'output';
}

export interface Lineage {
  focus: string;
  nodes: LineageNode[];
  edges: LineageEdge[];
}

export interface Preview {
  kind: 'text' | 'image' | 'binary';
  text: string | null;
  truncated: boolean;
}

export interface RegisteredModel extends Collection {
  versions: Version[];
}
