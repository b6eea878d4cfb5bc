// Shapes of the REST API (/api/v1); see docs/rest-api.md and /api/v1/openapi.json.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface Project {
  entity: string;
  name: string;
  run_count: number;
  created_at: number;
  url: string;
}

export interface Run {
  id: string;
  entity: string;
  project: string;
  url: string;
  name: string | null;
  notes: string | null;
  tags: string[];
  group: string | null;
  job_type: string | null;
  state: string;
  reason: string | null;
  exit_code: number | null;
  created_at: number;
  updated_at: number;
  heartbeat_at: number | null;
  finished_at: number | null;
  duration: number | null;
  host: string | null;
  sweep_id: string | null;
  last_step: number | null;
  history_rows: number;
  config: Record<string, Json>;
  summary: Record<string, Json>;
  pinned_keys: string[];
}

export interface RunFile {
  path: string;
  size: number;
  modified_at: number;
  stored?: boolean;
}

export interface RunDetail extends Run {
  metadata: Record<string, Json>;
  keys: string[];
  system_keys: string[];
  alerts: { ts: number; title: string; text: string; level: string }[];
  files: RunFile[];
  has_run_dir: boolean;
}

export interface KeyInfo {
  name: string;
  runs: number;
  step_metric: string | null;
  hidden: boolean;
  goal: string | null;
}

export interface Series {
  run: string;
  key: string;
  width: number;
  // JSON number arrays, or typed arrays decoded from the b64 encoding (NaN: a gap)
  x: ArrayLike<number>;
  last: ArrayLike<number | null>;
  min: ArrayLike<number | null>;
  max: ArrayLike<number | null>;
  smooth?: ArrayLike<number | null>;
  exact: boolean;
  points: number;
  cursor: number | null;
  from?: number | null;
}

export interface SeriesAnswer {
  x: string;
  buckets: number;
  widths: Record<string, number>;
  missing_runs: string[];
  series: Series[];
}

export interface LogLine {
  ts: number | null;
  source: string;
  text: string;
}
