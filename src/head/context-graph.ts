import type { ContextSpec } from './head-spec.js';

/** What places a sample in its dialogue (docs/ingest.md): all optional. */
export interface ContextNode {
  /** The dialogue or video; undefined or '' = a lone sample. */
  group?: string | undefined;
  /** Position in the group; undefined = the node's position in the list. */
  order?: number | undefined;
  /** Who speaks; undefined or '' = unknown (no speaker edges). */
  speaker?: string | undefined;
}

/**
 * The `adj [N, N]` input of a context head (docs/head.md) for nodes listed in batch order,
 * row-major: node i is joined to node j when both belong to one group and |order_i − order_j|
 * ≤ window, or (with speaker edges) when they also share a known speaker; every node is joined
 * to itself. Each row is divided by its degree (row-normalised), so a lone node's row is 1 on
 * the diagonal: the identity the design names for lone samples. The head attends over the
 * edges (adj > 0); the values themselves only say how many neighbours a row has.
 */
export function contextAdjacency(
  nodes: readonly ContextNode[],
  spec: Pick<ContextSpec, 'window' | 'speakerEdges'>,
): Float32Array {
  const n = nodes.length;
  const adj = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    const a = nodes[i]!;
    let degree = 0;
    for (let j = 0; j < n; j++) {
      if (i === j || joined(a, nodes[j]!, i, j, spec)) {
        adj[i * n + j] = 1;
        degree++;
      }
    }
    for (let j = 0; j < n; j++) adj[i * n + j]! /= degree;
  }
  return adj;
}

/** Whether two distinct nodes share an edge (symmetric). */
function joined(
  a: ContextNode,
  b: ContextNode,
  i: number,
  j: number,
  spec: Pick<ContextSpec, 'window' | 'speakerEdges'>,
): boolean {
  if (a.group === undefined || a.group === '' || a.group !== b.group) return false;
  if (Math.abs((a.order ?? i) - (b.order ?? j)) <= spec.window) return true;
  return spec.speakerEdges && a.speaker !== undefined && a.speaker !== '' && a.speaker === b.speaker;
}

/**
 * The rows of a dataset cut into graph units: each group's rows sorted by order (ties by row),
 * cut into consecutive windows of at most `maxGroup` rows; a row without a group ('' or no
 * groups at all) is a unit of its own. Units are listed in the order of their first row, so
 * that the cut is a property of the data alone: training, evaluation and ingestion see the
 * same graphs.
 */
export function contextUnits(
  size: number,
  groups: readonly string[] | undefined,
  order: Int32Array | undefined,
  maxGroup: number,
): Int32Array[] {
  const byGroup = new Map<string, number[]>();
  const units: (number[] | string)[] = [];
  for (let i = 0; i < size; i++) {
    const key = groups?.[i] ?? '';
    if (key === '') {
      units.push([i]);
      continue;
    }
    let rows = byGroup.get(key);
    if (rows === undefined) {
      byGroup.set(key, (rows = []));
      units.push(key);
    }
    rows.push(i);
  }
  const out: Int32Array[] = [];
  for (const u of units) {
    if (typeof u !== 'string') {
      out.push(Int32Array.from(u));
      continue;
    }
    const rows = byGroup.get(u)!;
    if (order !== undefined) rows.sort((a, b) => order[a]! - order[b]! || a - b);
    for (let k = 0; k < rows.length; k += maxGroup) out.push(Int32Array.from(rows.slice(k, k + maxGroup)));
  }
  return out;
}

/**
 * Batches of whole units, visited in `visit` order (indices into `units`): units are added to
 * a batch while it stays within `batchSize` rows; a unit larger than `batchSize` (possible when
 * maxGroup exceeds it) makes a batch of its own rather than being split.
 */
export function packUnits(
  units: readonly Int32Array[],
  visit: ArrayLike<number>,
  batchSize: number,
): Int32Array[] {
  const batches: Int32Array[] = [];
  let current: number[] = [];
  for (let k = 0; k < visit.length; k++) {
    const u = units[visit[k]!]!;
    if (current.length > 0 && current.length + u.length > batchSize) {
      batches.push(Int32Array.from(current));
      current = [];
    }
    for (const r of u) current.push(r);
  }
  if (current.length > 0) batches.push(Int32Array.from(current));
  return batches;
}
