/**
 * Does inference starve BullMQ's lock renewal? Runs a queue worker on long CPU-bound batches
 * (eight 9-minute clips, one micro-batch) with a 1-second job lock, once extracting on the
 * worker's main thread (--concurrency 0) and once in a worker thread (--concurrency 1), and
 * counts the jobs BullMQ declared stalled (lock lost) in each case.
 *
 *   node dist/scripts/lock-renewal.js [--redis redis://127.0.0.1:6379]
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { QueueEvents } from 'bullmq';
import { chirpWav } from '../src/bench/rss-bench.js';
import { connectRedis, redisOptions } from '../src/runtime/queue/connection.js';
import { batchKeys } from '../src/runtime/queue/keys.js';
import { submitBatch } from '../src/runtime/queue/submit.js';
import { deletePrefix } from '../src/runtime/queue/store.js';
import { startWorkerProcess, stopWorkerProcess } from '../src/runtime/queue/worker-process.js';

async function run(redisUrl: string, root: string, concurrency: number) {
  const prefix = `emoflow-lock-${randomBytes(4).toString('hex')}`;
  const worker = await startWorkerProcess([
    ...['--redis', redisUrl, '--prefix', prefix, '--queues', 'audio,fuse', '--input-root', root],
    ...['--concurrency', String(concurrency), '--lock-ms', '1000', '--batch', '8', '--gather-ms', '200'],
  ]);
  const events = new QueueEvents('audio', { connection: redisOptions(redisUrl), prefix });
  let stalled = 0;
  events.on('stalled', () => stalled++);
  await events.waitUntilReady();
  const redis = await connectRedis(redisUrl);
  const t0 = performance.now();
  const sub = await submitBatch(redis, root, { redisUrl, prefix });
  const key = batchKeys(prefix, sub.batch).records;
  while ((await redis.hlen(key)) < sub.samples && performance.now() - t0 < 300_000)
    await new Promise((r) => setTimeout(r, 100));
  const seconds = (performance.now() - t0) / 1000;
  const done = await redis.hlen(key);
  await stopWorkerProcess(worker);
  await events.close();
  await deletePrefix(redis, prefix);
  redis.disconnect();
  return { concurrency, samples: sub.samples, done, seconds, stalledEvents: stalled };
}

const { values } = parseArgs({ options: { redis: { type: 'string', default: 'redis://127.0.0.1:6379' } } });
const dir = await mkdtemp(join(tmpdir(), 'emoflow-lock-'));
try {
  const root = join(dir, 'clips');
  await mkdir(root);
  for (let i = 0; i < 8; i++) await writeFile(join(root, `clip${i}.wav`), chirpWav(540, i + 1));
  const mainThread = await run(values.redis!, root, 0);
  const workerThread = await run(values.redis!, root, 1);
  process.stdout.write(JSON.stringify({ lockMs: 1000, clipSeconds: 540, mainThread, workerThread }) + '\n');
} finally {
  await rm(dir, { recursive: true, force: true });
}
