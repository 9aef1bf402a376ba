import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Device } from '../models/session-factory.js';
import { connectRedis } from '../runtime/queue/connection.js';
import { ingestViaQueue } from '../runtime/queue/ingest-queue.js';
import { deletePrefix } from '../runtime/queue/store.js';
import { startWorkerProcess, stopWorkerProcess } from '../runtime/queue/worker-process.js';
import { makeE2eBatch } from './e2e-bench.js';

/** What Redis says about itself: INFO commandstats, cpu and stats, the parts the model needs. */
interface RedisCounters {
  calls: Map<string, number>;
  cpuSeconds: number;
  netIn: number;
  netOut: number;
}

function infoFields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

async function counters(redis: Redis): Promise<RedisCounters> {
  const [commandstats, cpu, stats] = await Promise.all([
    redis.info('commandstats'),
    redis.info('cpu'),
    redis.info('stats'),
  ]);
  const calls = new Map<string, number>();
  for (const [k, v] of infoFields(commandstats)) {
    const m = /(?:^|,)calls=(\d+)/.exec(v);
    if (k.startsWith('cmdstat_') && m !== null) calls.set(k.slice('cmdstat_'.length), Number(m[1]));
  }
  const c = infoFields(cpu);
  const s = infoFields(stats);
  return {
    calls,
    // The whole server process (main thread and I/O threads), user and system.
    cpuSeconds: Number(c.get('used_cpu_user') ?? 0) + Number(c.get('used_cpu_sys') ?? 0),
    netIn: Number(s.get('total_net_input_bytes') ?? 0),
    netOut: Number(s.get('total_net_output_bytes') ?? 0),
  };
}

export interface QueueCapacity {
  samples: number;
  workers: number;
  seconds: number;
  samplesPerSecond: number;
  redis: {
    commandsPerSample: number;
    cpuMsPerSample: number;
    bytesInPerSample: number;
    bytesOutPerSample: number;
    bytesPerSample: number;
    /** Samples per second one Redis core serves at this cost: 1 / CPU seconds per sample. */
    ceilingSamplesPerSecond: number;
    /** The commands that cost most calls, per sample, most first. */
    topCommands: Record<string, number>;
  };
}

/**
 * The Redis side of the queue runtime (docs/queue.md, capacity model): runs the fixed mixed
 * batch of `bench e2e` (7 modality subsets × `perCombo`) through `workers` real worker
 * processes the way `emoflow ingest --redis` does (submit, workers, records streamed back,
 * batch deleted), and reads Redis's own counters before and after: commands (INFO
 * commandstats), CPU seconds (INFO cpu) and network bytes (INFO stats) per sample, and the
 * ceiling they imply for one Redis core. Everything on that Redis counts, so give it a Redis
 * nothing else uses.
 */
export async function benchQueueCapacity(options: {
  redis: string;
  perCombo: number;
  workers: number;
  concurrency?: number;
  device: Device;
  batch: number;
}): Promise<QueueCapacity> {
  const dir = await mkdtemp(join(tmpdir(), 'emoflow-qbench-'));
  const redis = await connectRedis(options.redis);
  const prefix = `emoflow-bench-${randomBytes(4).toString('hex')}`;
  const children: Awaited<ReturnType<typeof startWorkerProcess>>[] = [];
  try {
    const root = await makeE2eBatch(dir, options.perCombo);
    const args = [
      ...['--redis', options.redis, '--prefix', prefix, '--input-root', root],
      ...['--device', options.device, '--batch', String(options.batch), '--threads', '1'],
      ...(options.concurrency === undefined ? [] : ['--concurrency', String(options.concurrency)]),
    ];
    for (let i = 0; i < options.workers; i++) children.push(await startWorkerProcess(args));
    const before = await counters(redis);
    const t0 = performance.now();
    const r = await ingestViaQueue({
      input: root,
      out: join(dir, 'out.jsonl'),
      format: 'jsonl',
      mode: 'force',
      redisUrl: options.redis,
      prefix,
    });
    const seconds = (performance.now() - t0) / 1000;
    const after = await counters(redis);
    const n = r.written;
    const deltas = [...after.calls]
      .map(([cmd, calls]) => [cmd, calls - (before.calls.get(cmd) ?? 0)] as const)
      .filter(([, d]) => d > 0)
      .sort((a, b) => b[1] - a[1]);
    const commands = deltas.reduce((a, [, d]) => a + d, 0);
    const cpu = after.cpuSeconds - before.cpuSeconds;
    const netIn = after.netIn - before.netIn;
    const netOut = after.netOut - before.netOut;
    return {
      samples: n,
      workers: options.workers,
      seconds,
      samplesPerSecond: n / seconds,
      redis: {
        commandsPerSample: commands / n,
        cpuMsPerSample: (cpu / n) * 1000,
        bytesInPerSample: netIn / n,
        bytesOutPerSample: netOut / n,
        bytesPerSample: (netIn + netOut) / n,
        ceilingSamplesPerSecond: cpu > 0 ? n / cpu : Number.POSITIVE_INFINITY,
        topCommands: Object.fromEntries(deltas.slice(0, 12).map(([cmd, d]) => [cmd, d / n])),
      },
    };
  } finally {
    await Promise.all(children.map((c) => stopWorkerProcess(c)));
    await deletePrefix(redis, prefix).catch(() => undefined);
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
}
