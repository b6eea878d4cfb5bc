// Chart panels grouped into sections by the prefix before the first "/" (W&B's rule).

import type { KeyInfo } from './types';

export const DEFAULT_SECTION = 'Charts';
export const SYSTEM_SECTION = 'System';

export interface Panel {
  key: string;
  system: boolean;
  stepMetric: string | null;
}

export interface Section {
  name: string;
  panels: Panel[];
}

export function sectionOf(key: string): string {
  const i = key.indexOf('/');
  return i > 0 ? key.slice(0, i) : DEFAULT_SECTION;
}

const natural = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true });

/** Keys to sections: "Charts" first, named sections alphabetically, "System" last. */
export function buildSections(keys: KeyInfo[], systemKeys: string[], search = ''): Section[] {
  let re: RegExp | null = null;
  if (search.trim()) {
    try {
      re = new RegExp(search.trim(), 'i');
    } catch {
      re = new RegExp(search.trim().replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
    }
  }
  const bySection = new Map<string, Panel[]>();
  for (const k of keys) {
    if (k.hidden || k.name.startsWith('_') || (re && !re.test(k.name))) continue;
    const s = sectionOf(k.name);
    if (!bySection.has(s)) bySection.set(s, []);
    bySection.get(s)!.push({ key: k.name, system: false, stepMetric: k.step_metric });
  }
  const names = [...bySection.keys()].sort((a, b) =>
    a === DEFAULT_SECTION ? -1 : b === DEFAULT_SECTION ? 1 : natural(a, b),
  );
  const out: Section[] = names.map((name) => ({
    name,
    panels: bySection.get(name)!.sort((a, b) => natural(a.key, b.key)),
  }));
  const sys = systemKeys.filter((k) => !k.startsWith('_') && (!re || re.test(k))).sort(natural);
  if (sys.length) out.push({ name: SYSTEM_SECTION, panels: sys.map((key) => ({ key, system: true, stepMetric: null })) });
  return out;
}

/** The x-axis of a panel: the chosen one, or (auto) its step metric, or _runtime for system metrics. */
export function panelX(panel: Panel, chosen: string): string {
  if (chosen !== 'auto') return panel.system && !['_runtime', '_timestamp'].includes(chosen) ? '_runtime' : chosen;
  if (panel.system) return '_runtime';
  return panel.stepMetric ?? '_step';
}
