import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status, submit } from '../../src/runtime/queue/api.js';
import { redisOptions } from '../../src/runtime/queue/connection.js';
import { startDashboard, stopDashboard } from '../../src/runtime/queue/dashboard.js';
import { metricSample } from '../support/dashboard.js';
import { cleanPrefix, REDIS_URL, startWorker, stopWorker, uniquePrefix, waitFor } from '../support/queue.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emoflow-histogram-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** /metrics once the processing-time counts of `queues` reach `expected` (or the last scrape after 20 s). */
async function scrapeUntil(url: string, queues: string[], expected: number): Promise<string> {
  let text = '';
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    text = await (await fetch(`${url}metrics`)).text();
    const counts = queues.map((queue) =>
      metricSample(text, 'emoflow_job_processing_seconds_count', { queue }),
    );
    if (counts.every((n) => n === expected)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return text;
}

describe('the processing-time histogram counts jobs removed on completion', () => {
  it('observes each removed job once, with the time its worker saw', async () => {
    const prefix = uniquePrefix('hist');
    const connection = redisOptions(REDIS_URL);
    const dashboard = await startDashboard({ redisUrl: REDIS_URL, prefix, port: 0 });
    const queue = new Queue('audio', { connection, prefix });
    const seen: number[] = [];
    const worker = new Worker(
      'audio',
      async () => {
        await new Promise((r) => setTimeout(r, 40));
      },
      { connection, prefix },
    );
    try {
      worker.on('completed', (job) => seen.push((job.finishedOn! - job.processedOn!) / 1000));
      const n = 6;
      for (let i = 0; i < n; i++) await queue.add('a', { i }, { removeOnComplete: true });
      await waitFor(async () => seen.length === n, 20_000, 'the jobs');
      expect(await queue.getJobCounts('completed', 'wait', 'active')).toEqual({
        completed: 0,
        wait: 0,
        active: 0,
      });

      const text = await scrapeUntil(dashboard.url, ['audio'], n);
      const h = (suffix: string, labels: Record<string, string> = {}) =>
        metricSample(text, `emoflow_job_processing_seconds${suffix}`, { queue: 'audio', ...labels });
      expect(h('_count')).toBe(n);
      expect(h('_bucket', { le: '+Inf' })).toBe(n);
      // Each job slept 40 ms: none is in the 25 ms bucket.
      expect(h('_bucket', { le: '0.025' })).toBe(0);
      // The worker's own timings (its clock) against the event stream's (Redis's): a few ms apart each.
      const expected = seen.reduce((a, b) => a + b, 0);
      expect(Math.abs(h('_sum')! - expected)).toBeLessThan(0.01 * n);
      expect(metricSample(text, 'emoflow_job_processing_seconds_count', { queue: 'text' })).toBe(0);
    } finally {
      await worker.close();
      await queue.close();
      await stopDashboard(dashboard);
      await cleanPrefix(REDIS_URL, prefix);
    }
  });

  it('counts every job of a batch run by `emoflow worker`', async () => {
    const prefix = uniquePrefix('hist-cli');
    const n = 8;
    const manifest = join(dir, 'texts.jsonl');
    const words = ['glad', 'angry', 'afraid', 'calm'];
    await writeFile(
      manifest,
      Array.from({ length: n }, (_, i) =>
        JSON.stringify({ id: `t${i}`, text: `I feel ${words[i % 4]} today (${i})` }),
      ).join('\n') + '\n',
    );
    const dashboard = await startDashboard({ redisUrl: REDIS_URL, prefix, port: 0 });
    const worker = await startWorker([
      '--redis',
      REDIS_URL,
      '--prefix',
      prefix,
      '--queues',
      'text,fuse',
      '--concurrency',
      '1',
    ]);
    try {
      const { batch } = await submit(manifest, { redis: REDIS_URL, prefix });
      await waitFor(
        async () => (await status(batch, { redis: REDIS_URL, prefix })).done === n,
        120_000,
        'the batch',
      );

      const text = await scrapeUntil(dashboard.url, ['text', 'fuse'], n);
      const count = (queue: string) => metricSample(text, 'emoflow_job_processing_seconds_count', { queue });
      expect(count('text')).toBe(n);
      expect(count('fuse')).toBe(n);
      expect(count('image')).toBe(0);
      expect(count('audio')).toBe(0);
      // The jobs are gone from Redis: the counts came from the event stream.
      expect(metricSample(text, 'emoflow_queue_jobs', { queue: 'text', state: 'completed' })).toBe(0);
      expect(metricSample(text, 'emoflow_queue_jobs', { queue: 'fuse', state: 'completed' })).toBe(0);
      expect(metricSample(text, 'emoflow_job_processing_seconds_sum', { queue: 'text' })).toBeGreaterThan(0);
    } finally {
      await stopWorker(worker);
      await stopDashboard(dashboard);
      await cleanPrefix(REDIS_URL, prefix);
    }
  });
});
