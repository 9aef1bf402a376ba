import { QueueEvents, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Gauge, Histogram, Registry } from 'prom-client';

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
  /** The connection the queues use; QueueEvents duplicates it for its blocking XREAD. */
  connection: Redis;
  /** Added as a `prefix` label to every series, so one Prometheus can tell deployments apart. */
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
 * from each queue's event stream, so they cover the jobs completed since the registry started.
 */
export async function startQueueMetrics(
  queues: readonly Queue[],
  options: QueueMetricsOptions,
): Promise<QueueMetrics> {
  // A registry of its own (not prom-client's global one), so two dashboards in one process
  // (tests) do not clash over metric names.
  const registry = new Registry();
  registry.setDefaultLabels({ prefix: options.prefix });

  const jobs = new Gauge({
    name: METRIC_NAMES.jobs,
    help: 'Jobs in each queue by state, read from Redis at scrape time (BullMQ getJobCounts).',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      const counts = await Promise.all(queues.map((q) => q.getJobCounts(...JOB_STATES)));
      queues.forEach((q, i) => {
        for (const state of JOB_STATES) jobs.set({ queue: q.name, state }, counts[i]?.[state] ?? 0);
      });
    },
  });

  const workers = new Gauge({
    name: METRIC_NAMES.workers,
    help: 'Workers connected to each queue at scrape time (BullMQ getWorkersCount, from CLIENT LIST).',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      const counts = await Promise.all(queues.map((q) => q.getWorkersCount()));
      queues.forEach((q, i) => workers.set({ queue: q.name }, counts[i] ?? 0));
    },
  });

  const processingTime = new Histogram({
    name: METRIC_NAMES.processingTime,
    help: 'Processing time of completed jobs per queue (finishedOn - processedOn), in seconds.',
    labelNames: ['queue'] as const,
    buckets: PROCESSING_TIME_BUCKETS,
    registers: [registry],
  });
  // Every queue has a series from the start, so rate() sees 0 rather than no data.
  for (const q of queues) processingTime.zero({ queue: q.name });

  const listeners = await Promise.all(
    queues.map((q) =>
      watchCompletions(q, options, (seconds) => processingTime.observe({ queue: q.name }, seconds)),
    ),
  );

  return {
    registry,
    async close() {
      await Promise.all(listeners.map((l) => l.close()));
    },
  };
}

/**
 * Listens to a queue's `completed` events and reports each job's processing time. The events
 * carry no timestamps, so the job is read back; a job already removed (removeOnComplete) is
 * skipped, as its timings are gone.
 */
async function watchCompletions(
  queue: Queue,
  options: QueueMetricsOptions,
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
  // Reads in flight are awaited on close, so none fails on a connection closed under it.
  const pending = new Set<Promise<void>>();
  events.on('completed', ({ jobId }) => {
    const read = queue.getJob(jobId).then(
      (job) => {
        if (job?.processedOn !== undefined && job.finishedOn !== undefined) {
          observe(Math.max(0, job.finishedOn - job.processedOn) / 1000);
        }
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
