import { QueueEvents, type Queue } from 'bullmq';
import { Gauge, Histogram, Registry } from 'prom-client';
import type { RedisClient } from './connection.js';

/** The job states reported by `emoflow_queue_jobs`, as BullMQ's `getJobCounts` names them. */
export const JOB_STATES = [
  'waiting',
  'active',
  'completed',
  'failed',
  'delayed',
  'paused',
  'waiting-children',
  'prioritized',
] as const;
export type JobState = (typeof JOB_STATES)[number];

/**
 * Histogram buckets in seconds: a text job takes milliseconds, an audio job with VAD or a fuse
 * job waiting on a slow model can take a minute; above that something is wrong anyway.
 */
export const PROCESSING_TIME_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export const METRIC_NAMES = {
  jobs: 'emoflow_queue_jobs',
  workers: 'emoflow_queue_workers',
  processingTime: 'emoflow_job_processing_seconds',
} as const;

export interface QueueMetricsOptions {
  /** The connection the queues use (one Redis or a cluster); QueueEvents duplicates it for its blocking XREAD. */
  connection: RedisClient;
  /**
   * A `prefix` label on every series, so one Prometheus can tell deployments apart: each queue's
   * own key prefix (its shard's), or this one where a queue has none.
   */
  prefix: string;
  /** Errors of the event listeners (a lost connection, a job hash that cannot be read). */
  onError: (error: Error) => void;
}

export interface QueueMetrics {
  registry: Registry;
  /** Stops listening to completion events (the queues and the connection stay open). */
  close(): Promise<void>;
}

/**
 * A Prometheus registry over BullMQ queues. Job and worker counts are read from Redis on each
 * scrape, so they are exact at scrape time; processing times are observed as jobs complete,
 * from each queue's event stream, so they cover the jobs completed since the registry started,
 * removed ones included (see `watchCompletions`).
 */
export async function startQueueMetrics(
  queues: readonly Queue[],
  options: QueueMetricsOptions,
): Promise<QueueMetrics> {
  // A registry of its own (not prom-client's global one), so two dashboards in one process
  // (tests) do not clash over metric names.
  const registry = new Registry();
  registry.setDefaultLabels({ prefix: options.prefix });
  const prefixOf = (q: Queue): string => q.opts.prefix ?? options.prefix;

  const jobs = new Gauge({
    name: METRIC_NAMES.jobs,
    help: 'Jobs in each queue by state, read from Redis at scrape time (BullMQ getJobCounts).',
    labelNames: ['queue', 'state', 'prefix'] as const,
    registers: [registry],
    async collect() {
      const counts = await Promise.all(queues.map((q) => q.getJobCounts(...JOB_STATES)));
      queues.forEach((q, i) => {
        for (const state of JOB_STATES)
          jobs.set({ queue: q.name, state, prefix: prefixOf(q) }, counts[i]?.[state] ?? 0);
      });
    },
  });

  const workers = new Gauge({
    name: METRIC_NAMES.workers,
    help: 'Workers connected to each queue at scrape time (BullMQ getWorkersCount, from CLIENT LIST).',
    labelNames: ['queue', 'prefix'] as const,
    registers: [registry],
    async collect() {
      const counts = await Promise.all(queues.map((q) => q.getWorkersCount()));
      queues.forEach((q, i) => workers.set({ queue: q.name, prefix: prefixOf(q) }, counts[i] ?? 0));
    },
  });

  const processingTime = new Histogram({
    name: METRIC_NAMES.processingTime,
    help: 'Processing time of completed jobs per queue (finishedOn - processedOn), in seconds.',
    labelNames: ['queue', 'prefix'] as const,
    buckets: PROCESSING_TIME_BUCKETS,
    registers: [registry],
  });
  // Every queue has a series from the start, so rate() sees 0 rather than no data.
  for (const q of queues) processingTime.zero({ queue: q.name, prefix: prefixOf(q) });

  const listeners = await Promise.all(
    queues.map((q) =>
      watchCompletions({ ...options, prefix: prefixOf(q) }, q, (seconds) =>
        processingTime.observe({ queue: q.name, prefix: prefixOf(q) }, seconds),
      ),
    ),
  );

  return {
    registry,
    async close() {
      await Promise.all(listeners.map((l) => l.close()));
    },
  };
}

/** Jobs seen starting whose end is still to come, per queue; beyond this the oldest are forgotten. */
const MAX_TRACKED_STARTS = 100_000;

/** The time of a stream entry: its id is `<ms>-<seq>`, the Redis server's clock when it was added. */
function entryMs(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

/**
 * Listens to a queue's events and reports each completed job's processing time. A `completed`
 * event carries no timestamps, and emoflow's jobs are removed as they complete (removeOnComplete),
 * so the job cannot be read back afterwards. The time is therefore taken, in this order:
 * - from the job's `processedOn` and `finishedOn`, when Redis still holds the job;
 * - else from the event stream: the id of the job's last `active` event (written by BullMQ's
 *   moveToActive script, where `processedOn` is set) to the id of its `completed` event
 *   (written by moveToFinished, where `finishedOn` is set); stream ids are the Redis server's
 *   milliseconds, so both ends are on one clock.
 * A job that started before the listener did, and was removed, has neither and is skipped.
 */
async function watchCompletions(
  options: QueueMetricsOptions,
  queue: Queue,
  observe: (seconds: number) => void,
): Promise<{ close(): Promise<void> }> {
  // Starting from the stream's current last id rather than BullMQ's default '$' means no event
  // is lost between now and the moment the blocking XREAD is actually issued.
  const last = await options.connection.xrevrange(queue.toKey('events'), '+', '-', 'COUNT', 1);
  const events = new QueueEvents(queue.name, {
    connection: options.connection,
    prefix: options.prefix,
    lastEventId: last[0]?.[0] ?? '0',
  });
  events.on('error', options.onError);
  // The last start of each job (a retried or stalled job starts again: its last attempt counts).
  const started = new Map<string, number>();
  events.on('active', ({ jobId }, id) => {
    started.delete(jobId);
    started.set(jobId, entryMs(id));
    if (started.size > MAX_TRACKED_STARTS) started.delete(started.keys().next().value!);
  });
  events.on('failed', ({ jobId }) => started.delete(jobId));
  events.on('removed', ({ jobId }) => started.delete(jobId));
  // Reads in flight are awaited on close, so none fails on a connection closed under it.
  const pending = new Set<Promise<void>>();
  events.on('completed', ({ jobId }, id) => {
    const start = started.get(jobId);
    started.delete(jobId);
    const fromEvents = start === undefined ? undefined : entryMs(id) - start;
    const read = options.connection.hmget(queue.toKey(jobId), 'processedOn', 'finishedOn').then(
      ([processedOn, finishedOn]) => {
        const ms =
          processedOn != null && finishedOn != null ? Number(finishedOn) - Number(processedOn) : fromEvents;
        if (ms !== undefined && Number.isFinite(ms)) observe(Math.max(0, ms) / 1000);
      },
      (e: unknown) => options.onError(e instanceof Error ? e : new Error(String(e))),
    );
    pending.add(read);
    void read.finally(() => pending.delete(read));
  });
  await events.waitUntilReady();
  return {
    async close() {
      await events.close();
      await Promise.all(pending);
    },
  };
}
