import { Queue } from 'bullmq';
import { QUEUE_NAMES, type QueueName, type RedisClient } from './connection.js';
import { batchKeys } from './keys.js';
import type { BatchStatus } from './store.js';

export interface WorkerWatchOptions {
  /** A connection of the caller's (shared, not closed here). */
  redis: RedisClient;
  /** The key prefix of the batch's queues (its shard's). */
  prefix: string;
  /** The `emoflow worker` flags that serve that prefix (default `--prefix <prefix>`). */
  workerFlags?: string;
  batch: string;
  notice: (message: string) => void;
  /** How often the queues are looked at (default 2.5 s: a missing worker is said within seconds). */
  checkMs?: number;
  /** How often it is said again while it lasts (default 30 s). */
  repeatMs?: number;
}

/** The queues a batch needs: `fuse` and the modalities its submit recorded (all, when unknown). */
export async function queuesOfBatch(redis: RedisClient, prefix: string, batch: string): Promise<QueueName[]> {
  const listed = await redis.hget(batchKeys(prefix, batch).meta, 'modalities');
  if (listed === null) return [...QUEUE_NAMES];
  return QUEUE_NAMES.filter((q) => listed.split(',').includes(q));
}

/**
 * While a caller waits for a batch (`export --wait`, `ingest --redis`), says on stderr when no
 * worker serves a queue the batch needs, within `checkMs`, and again every `repeatMs` while it
 * lasts, and once when workers are back. Workers are counted by BullMQ (`Queue.getWorkers`:
 * the connections named after the queue, from CLIENT LIST). Where CLIENT LIST is not allowed
 * the watch says so once and stops. Returns a function that stops it.
 */
export function watchWorkers(options: WorkerWatchOptions): () => Promise<void> {
  const checkMs = options.checkMs ?? 2500;
  const repeatMs = options.repeatMs ?? 30_000;
  const queues = new Map<QueueName, Queue>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lastSaid = 0;
  let missingBefore: QueueName[] = [];
  const check = async () => {
    const needed = await queuesOfBatch(options.redis, options.prefix, options.batch);
    const missing: QueueName[] = [];
    for (const name of needed) {
      let q = queues.get(name);
      if (q === undefined) {
        q = new Queue(name, { connection: options.redis, prefix: options.prefix });
        q.on('error', () => undefined);
        queues.set(name, q);
      }
      if ((await q.getWorkersCount()) === 0) missing.push(name);
    }
    const now = Date.now();
    if (missing.length > 0 && (missing.join() !== missingBefore.join() || now - lastSaid >= repeatMs)) {
      options.notice(
        `no worker is serving queue${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (prefix ${options.prefix}) for batch ${options.batch}: still waiting; start one with \`emoflow worker ${options.workerFlags ?? `--prefix ${options.prefix}`} --queues ${missing.join(',')}\` (and --input-root for file inputs)`,
      );
      lastSaid = now;
    } else if (missing.length === 0 && missingBefore.length > 0) {
      options.notice(`workers are serving ${needed.join(', ')} again`);
    }
    missingBefore = missing;
  };
  const loop = () => {
    timer = setTimeout(() => {
      check().then(
        () => {
          if (!stopped) loop();
        },
        (e: unknown) => {
          if (!stopped)
            options.notice(
              `cannot tell whether workers serve the queues (${e instanceof Error ? e.message : String(e)}); still waiting`,
            );
        },
      );
    }, checkMs);
  };
  loop();
  return async () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    await Promise.all([...queues.values()].map((q) => q.close().catch(() => undefined)));
  };
}

/** Said while waiting on a batch whose submit stopped part-way. */
export function incompleteNotice(s: BatchStatus): string {
  return `batch ${s.batch}: its submit is incomplete (${s.submitted} of ${s.samples} samples are in Redis); run the same submit again to add the rest. Still waiting`;
}
