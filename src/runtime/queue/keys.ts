import { createHash } from 'node:crypto';
import type { Modality } from '../../core/labels.js';
import type { QueueName } from './connection.js';

/**
 * Every Redis key the queue runtime names itself lives here, so that a change of key layout
 * (Redis Cluster shards) is made in one place.
 *
 * Keys of a batch, beside BullMQ's own keys under the same prefix (a hash-tagged prefix keeps
 * them in the queues' cluster slot):
 * - `meta`: hash { samples, submitted, createdAt, ttlSeconds, input, modalities }; `submitted`
 *   is how many samples, in submission order, have their flow in Redis (equal to `samples`
 *   once a submit has finished)
 * - `ids`: list of sample ids in submission order (export order)
 * - `plan`: hash sampleId -> the sample's flow (JSON), so that `retry` can add it again
 * - `records`: hash sampleId -> output record (JSON), written once
 * - `counts`: hash status -> number of records
 * - `done`: list of sample ids in the order their records were stored (streamed by `ingest`)
 */
export function batchKeys(prefix: string, batch: string) {
  const base = `${prefix}:batches:${batch}`;
  return {
    meta: `${base}:meta`,
    ids: `${base}:ids`,
    plan: `${base}:plan`,
    records: `${base}:records`,
    counts: `${base}:counts`,
    done: `${base}:done`,
  };
}

/** BullMQ's key of a job (`<prefix>:<queue>:<id>`), and of one of its queue's sets. */
export function jobKey(prefix: string, queue: QueueName, jobId: string): string {
  return `${prefix}:${queue}:${jobId}`;
}

export function queueKey(prefix: string, queue: QueueName, name: 'failed' | 'active' | 'wait'): string {
  return `${prefix}:${queue}:${name}`;
}

/** A short-lived key a worker writes to learn whether Redis accepts writes again. */
export function probeKey(prefix: string, worker: string): string {
  return `${prefix}:probe:${worker}`;
}

/** The queue a job key belongs to (`<prefix>:<queue>:<id>`), whatever id a producer gave it. */
export function queueOfJobKey(prefix: string, key: string): string | undefined {
  if (!key.startsWith(`${prefix}:`)) return undefined;
  const rest = key.slice(prefix.length + 1);
  const i = rest.indexOf(':');
  return i < 0 ? undefined : rest.slice(0, i);
}

function hex(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
}

/**
 * A batch id from its inputs: the sorted sample ids with a fingerprint of each modality's input
 * (`modality:…`; submit uses the size and modification time of a file, the sha256 of inline
 * text), so that it is known before any file is read.
 */
export function deriveBatchId(entries: Iterable<{ sampleId: string; hashes: string[] }>): string {
  const lines = [...entries].map((e) => `${e.sampleId}\t${e.hashes.join(',')}`).sort();
  return 'b-' + hex(...lines).slice(0, 24);
}

/** The id of a sample's modality job (docs/queue.md): batch, sample, modality and content. */
export function modalityJobId(batch: string, sampleId: string, modality: Modality, sha256: string): string {
  return `${modality}-${hex(batch, sampleId, modality, sha256).slice(0, 32)}`;
}

/** The id of a sample's fuse (parent) job. */
export function fuseJobId(batch: string, sampleId: string): string {
  return `fuse-${hex(batch, sampleId).slice(0, 32)}`;
}

export const DEFAULT_TTL_SECONDS = 7 * 24 * 3600;
