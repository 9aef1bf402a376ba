import { createHash } from 'node:crypto';
import type { Modality } from '../../core/labels.js';

/**
 * Redis keys of a batch, beside BullMQ's own keys under the same prefix (a hash-tagged prefix
 * keeps them in the queues' cluster slot):
 * - `meta`: hash { samples, createdAt, ttlSeconds, head }
 * - `ids`: list of sample ids in submission order (export order)
 * - `records`: hash sampleId -> output record (JSON), written once
 * - `counts`: hash status -> number of records
 */
export function batchKeys(prefix: string, batch: string) {
  const base = `${prefix}:batches:${batch}`;
  return { meta: `${base}:meta`, ids: `${base}:ids`, records: `${base}:records`, counts: `${base}:counts` };
}

function hex(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
}

/** A batch id from its inputs: the sorted sample ids with their content hashes. */
export function deriveBatchId(entries: Iterable<{ sampleId: string; hashes: string[] }>): string {
  const lines = [...entries].map((e) => `${e.sampleId}\t${e.hashes.join(',')}`).sort();
  return 'b-' + hex(...lines).slice(0, 24);
}

/** The id of a sample's modality job (DESIGN.md §8): batch, sample, modality and content. */
export function modalityJobId(batch: string, sampleId: string, modality: Modality, sha256: string): string {
  return `${modality}-${hex(batch, sampleId, modality, sha256).slice(0, 32)}`;
}

/** The id of a sample's fuse (parent) job. */
export function fuseJobId(batch: string, sampleId: string): string {
  return `fuse-${hex(batch, sampleId).slice(0, 32)}`;
}

export const DEFAULT_TTL_SECONDS = 7 * 24 * 3600;
