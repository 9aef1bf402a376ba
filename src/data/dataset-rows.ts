import type { FeatureDataset, TaskLabels } from './feature-dataset.js';

/** Rows `rows` of a row-major [n, width] array, gathered into a new array. */
export function gatherRows(a: Float32Array, rows: readonly number[], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, k) => out.set(a.subarray(r * width, (r + 1) * width), k * width));
  return out;
}

/** Rows `rows` of a dataset, as a dataset of their own. */
export function subset(ds: FeatureDataset, rows: readonly number[], name = ds.name): FeatureDataset {
  const pickRows = (a: Float32Array, width: number): Float32Array => gatherRows(a, rows, width);
  const features: FeatureDataset['features'] = {};
  for (const [m, f] of Object.entries(ds.features) as [
    keyof FeatureDataset['features'],
    { spec: { dim: number; name: string; version: string }; data: Float32Array },
  ][]) {
    features[m] = { spec: f.spec, data: pickRows(f.data, f.spec.dim) };
  }
  const tasks: Record<string, TaskLabels> = {};
  for (const [name2, t] of Object.entries(ds.tasks)) {
    const width = t.targets.length / ds.size;
    const sub: TaskLabels = {
      spec: t.spec,
      targets: pickRows(t.targets, width),
      has: Uint8Array.from(rows, (r) => t.has[r]!),
    };
    if (t.truth !== undefined) sub.truth = Int32Array.from(rows, (r) => t.truth![r]!);
    if (t.multiLabel !== undefined) sub.multiLabel = Uint8Array.from(rows, (r) => t.multiLabel![r]!);
    if (t.logPrior !== undefined) sub.logPrior = pickRows(t.logPrior, width);
    tasks[name2] = sub;
  }
  const out: FeatureDataset = {
    name,
    size: rows.length,
    ids: rows.map((r) => ds.ids[r]!),
    features,
    mask: Uint8Array.from(
      { length: rows.length * 3 },
      (_, k) => ds.mask[rows[Math.floor(k / 3)]! * 3 + (k % 3)]!,
    ),
    tasks,
    source: ds.source,
  };
  if (ds.groups !== undefined) out.groups = rows.map((r) => ds.groups![r]!);
  if (ds.speakers !== undefined) out.speakers = rows.map((r) => ds.speakers![r]!);
  if (ds.order !== undefined) out.order = Int32Array.from(rows, (r) => ds.order![r]!);
  return out;
}
