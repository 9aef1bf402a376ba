import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlowProducer } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeE2eBatch } from '../../src/bench/e2e-bench.js';
import type { PredictionRecord } from '../../src/pipeline/record.js';
import { readRecords, recordOutcome } from '../support/records.js';
import { exportBatch, status } from '../../src/runtime/queue/api.js';
import { redisOptions } from '../../src/runtime/queue/connection.js';
import { fuseJobSchema, modalityJobSchema } from '../../src/runtime/queue/schemas.js';
import { emoflow } from '../support/cli.js';
import { makeOddFolder } from '../support/odd-inputs.js';
import {
  REDIS_URL,
  cleanPrefix,
  exportRecords,
  startRedisServer,
  startWorker,
  stopWorker,
  uniquePrefix,
  waitFor,
  type WorkerProcess,
} from '../support/queue.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emoflow-queue-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The embedded run's records of `input`, by id: what the queue must reproduce. */
async function embedded(input: string, name: string): Promise<Map<string, PredictionRecord>> {
  const out = join(dir, `${name}-embedded.jsonl`);
  const run = await emoflow(['ingest', input, '--out', out]);
  expect(run.code).toBe(0);
  return new Map((await readRecords(out)).map((r) => [r.id, r]));
}

/** What must agree between runtimes, with the record's id. */
const view = (r: PredictionRecord) => ({ id: r.id, ...recordOutcome(r) });

describe('queue runtime on a real Redis', () => {
  it('submitting the same folder twice yields one batch and no duplicate records; labels match embedded', async () => {
    const prefix = `{${uniquePrefix('dup')}}`; // hash-tagged, as for Redis Cluster
    const worker = await startWorker([
      ...['--redis', REDIS_URL, '--prefix', prefix, '--concurrency', '1', '--input-root', 'examples'],
    ]);
    try {
      const first = await emoflow(['submit', 'examples', '--redis', REDIS_URL, '--prefix', prefix, '--json']);
      const second = await emoflow([
        'submit',
        'examples',
        '--redis',
        REDIS_URL,
        '--prefix',
        prefix,
        '--json',
      ]);
      expect(first.code).toBe(0);
      const batch = first.stdout.trim().split('\n').at(-1)!;
      expect(second.stdout.trim().split('\n').at(-1)).toBe(batch);
      const a = JSON.parse(first.stdout.trim().split('\n').at(-2)!) as { samples: number; added: number };
      const b = JSON.parse(second.stdout.trim().split('\n').at(-2)!) as { added: number; existing: number };
      expect(a).toMatchObject({ samples: 11, added: 11 });
      expect(b).toMatchObject({ added: 0, existing: 11 });
      const records = await exportRecords(batch, REDIS_URL, prefix, join(dir, 'dup.jsonl'), '--keep');
      const st = await emoflow(['status', batch, '--redis', REDIS_URL, '--prefix', prefix, '--json']);
      expect(st.json()).toEqual({
        batch,
        samples: 11,
        done: 11,
        pending: 0,
        records: { ok: 11, partial: 0, failed: 0 },
      });
      // A third submission after completion adds nothing either.
      const third = await emoflow(['submit', 'examples', '--redis', REDIS_URL, '--prefix', prefix, '--json']);
      expect(JSON.parse(third.stdout.trim().split('\n').at(-2)!)).toMatchObject({ added: 0, existing: 11 });
      expect(records).toHaveLength(11);
      expect(new Set(records.map((r) => r.id)).size).toBe(11);
      const ref = await embedded('examples', 'dup');
      for (const r of records) {
        expect(view(r)).toEqual(view(ref.get(r.id)!));
        for (const e of Object.keys(r.scores!)) {
          const k = e as keyof NonNullable<PredictionRecord['scores']>;
          expect(r.scores![k]).toBeCloseTo(ref.get(r.id)!.scores![k], 3);
        }
      }
    } finally {
      await stopWorker(worker);
      await cleanPrefix(REDIS_URL, prefix);
    }
  }, 180_000);

  it('gives the odd-inputs folder the same records through the queue as embedded (ingest --redis)', async () => {
    const prefix = uniquePrefix('odd');
    const odd = await makeOddFolder(join(dir, 'oddq'));
    const worker = await startWorker([
      ...['--redis', REDIS_URL, '--prefix', prefix, '--concurrency', '1', '--input-root', odd.root],
    ]);
    try {
      const out = join(dir, 'odd-queue.jsonl');
      const run = await emoflow([
        'ingest',
        odd.root,
        '--out',
        out,
        '--redis',
        REDIS_URL,
        '--prefix',
        prefix,
        '--json',
      ]);
      expect(run.code).toBe(0);
      expect(run.json()['skippedFiles']).toEqual(
        odd.skipped.map((p) => ({ path: p, reason: expect.any(String) })),
      );
      const records = await readRecords(out);
      const ref = await embedded(odd.root, 'odd');
      expect(records.map((r) => r.id).sort()).toEqual([...ref.keys()].sort());
      for (const r of records) expect(view(r)).toEqual(view(ref.get(r.id)!));
    } finally {
      await stopWorker(worker);
      await cleanPrefix(REDIS_URL, prefix);
    }
  }, 180_000);

  it('turns a sample from a plain BullMQ producer, following the documented schema, into a record', async () => {
    const prefix = uniquePrefix('producer');
    const worker = await startWorker([
      '--redis',
      REDIS_URL,
      '--prefix',
      prefix,
      '--concurrency',
      '1',
      '--queues',
      'text,image,fuse',
    ]);
    const producer = new FlowProducer({ connection: redisOptions(REDIS_URL), prefix });
    try {
      const batch = 'my-service-batch-1';
      const image = await readFile(join('examples', 'photos', 'astronaut-face.png'));
      const children = [
        { modality: 'text' as const, input: { text: 'We won the final! Best day ever.' } },
        { modality: 'image' as const, input: { base64: image.toString('base64') } },
      ].map((c) => ({
        name: c.modality,
        queueName: c.modality,
        data: modalityJobSchema.parse({ batch, sampleId: 'msg-1', ...c }),
        // Ids of the producer's own choosing: nothing in them names the modality.
        opts: { jobId: `msg-1-${c.modality.slice(0, 3)}`, ignoreDependencyOnFailure: true },
      }));
      await producer.add({
        name: 'sample',
        queueName: 'fuse',
        data: fuseJobSchema.parse({ batch, sampleId: 'msg-1', inputs: {}, modalities: ['text', 'image'] }),
        opts: { jobId: 'fuse-msg-1' },
        children,
      });
      await waitFor(
        async () => (await status(batch, { redis: REDIS_URL, prefix }).catch(() => undefined))?.done === 1,
        60_000,
        'the record',
      );
      const out = join(dir, 'producer.jsonl');
      const r = await exportBatch(batch, { redis: REDIS_URL, prefix, out, format: 'jsonl' });
      expect(r).toMatchObject({ written: 1, complete: true });
      const [record] = await readRecords(out);
      expect(record).toMatchObject({ id: 'msg-1', status: 'ok' });
      expect(record!.modalities.text?.status).toBe('ok');
      // astronaut-face.png shows the whole head: cut to the face at FER2013's framing.
      expect(record!.modalities.image?.status === 'ok' && record!.modalities.image.face).toMatchObject({
        source: 'detector',
        framing: 'fer',
      });
      // Exported completely: the results are gone from Redis.
      await expect(status(batch, { redis: REDIS_URL, prefix })).rejects.toThrow(/no batch/);
    } finally {
      await producer.close();
      await stopWorker(worker);
      await cleanPrefix(REDIS_URL, prefix);
    }
  }, 120_000);

  it('says REDIS_UNAVAILABLE in one line when Redis cannot be reached', async () => {
    const run = await emoflow(['status', 'b-x', '--redis', 'redis://127.0.0.1:1'], {
      env: { EMOFLOW_REDIS_TIMEOUT_MS: '1500' },
    });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^emoflow: REDIS_UNAVAILABLE: cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  });
});

describe('SIGTERM drains a worker', () => {
  it('finishes its active jobs, leaves none active, exits 0; a new worker completes the batch once', async () => {
    const root = await makeE2eBatch(join(dir, 'drain'), 12); // 84 samples
    const prefix = uniquePrefix('drain');
    const args = [
      ...['--redis', REDIS_URL, '--prefix', prefix, '--concurrency', '1', '--batch', '4'],
      ...['--input-root', root],
    ];
    const redis = new Redis(REDIS_URL);
    let worker = await startWorker(args);
    try {
      const sub = await emoflow(['submit', root, '--redis', REDIS_URL, '--prefix', prefix]);
      const batch = sub.stdout.trim().split('\n').at(-1)!;
      const records = `${prefix}:batches:${batch}:records`;
      await waitFor(async () => (await redis.hlen(records)) >= 10, 60_000, '10 records');
      expect(await stopWorker(worker, 'SIGTERM')).toBe(0);
      expect(worker.stderr()).toContain('SIGTERM: draining');
      for (const q of ['text', 'image', 'audio', 'fuse'])
        expect(await redis.llen(`${prefix}:${q}:active`)).toBe(0);
      const partial = await redis.hlen(records);
      expect(partial).toBeLessThan(84);
      worker = await startWorker(args);
      const got = await exportRecords(batch, REDIS_URL, prefix, join(dir, 'drain.jsonl'));
      expect(got).toHaveLength(84);
      expect(new Set(got.map((r) => r.id)).size).toBe(84);
    } finally {
      redis.disconnect();
      await stopWorker(worker);
      await cleanPrefix(REDIS_URL, prefix);
    }
  }, 240_000);
});

describe('a 300-sample mixed batch survives a SIGKILLed worker and a Redis restart', () => {
  it('comes back complete: each sample once, the same labels as the embedded run', async () => {
    const root = await makeE2eBatch(join(dir, 'chaos'), 43); // 7 modality subsets x 43 = 301 samples
    const server = await startRedisServer(
      6390 + Math.floor(Math.random() * 500),
      await mkdtemp(join(dir, 'redis-')),
    );
    const prefix = uniquePrefix('chaos');
    const args = [
      '--redis',
      server.url,
      '--prefix',
      prefix,
      '--concurrency',
      '1',
      '--lock-ms',
      '3000',
      '--batch',
      '8',
      '--input-root',
      root,
    ];
    const workers: WorkerProcess[] = [];
    const redis = new Redis(server.url, { maxRetriesPerRequest: null });
    redis.on('error', () => undefined); // the restart below: ioredis reconnects
    try {
      workers.push(await startWorker(args), await startWorker(args));
      const sub = await emoflow(['submit', root, '--redis', server.url, '--prefix', prefix]);
      expect(sub.code).toBe(0);
      const batch = sub.stdout.trim().split('\n').at(-1)!;
      const done = async () =>
        (await redis.hlen(`${prefix}:batches:${batch}:records`).catch(() => 0)) as number;
      await waitFor(async () => (await done()) >= 40, 120_000, '40 records');
      const victim = workers[0]!;
      victim.child.kill('SIGKILL'); // the node process itself
      await new Promise((r) => victim.child.once('exit', r));
      workers.push(await startWorker(args));
      await waitFor(async () => (await done()) >= 150, 120_000, '150 records');
      await server.restart();
      const records = await exportRecords(batch, server.url, prefix, join(dir, 'chaos.jsonl'));
      expect(records).toHaveLength(301);
      expect(new Set(records.map((r) => r.id)).size).toBe(301);
      const ref = await embedded(root, 'chaos');
      for (const r of records) expect(view(r)).toEqual(view(ref.get(r.id)!));
    } finally {
      redis.disconnect();
      for (const w of workers) await stopWorker(w);
      await server.stop();
    }
  }, 600_000);
});

describe('10,000 small jobs', () => {
  it('all complete through one worker', async () => {
    const prefix = uniquePrefix('10k');
    const manifest = join(dir, 'small.jsonl');
    const words = ['glad', 'angry', 'afraid', 'calm', 'down', 'amazed'];
    await writeFile(
      manifest,
      Array.from({ length: 10_000 }, (_, i) =>
        JSON.stringify({ id: `m${i}`, text: `note ${i}: feeling ${words[i % 6]}` }),
      ).join('\n') + '\n',
    );
    const worker = await startWorker(['--redis', REDIS_URL, '--prefix', prefix, '--queues', 'text,fuse']);
    try {
      const out = join(dir, 'small-out.csv');
      const run = await emoflow([
        'ingest',
        manifest,
        '--out',
        out,
        '--redis',
        REDIS_URL,
        '--prefix',
        prefix,
        '--json',
      ]);
      expect(run.code).toBe(0);
      expect(run.json()).toMatchObject({ written: 10_000, records: { ok: 10_000, partial: 0, failed: 0 } });
      const lines = (await readFile(out, 'utf8')).trim().split('\n');
      expect(lines).toHaveLength(10_001);
      expect(new Set(lines.slice(1).map((l) => l.split(',')[0])).size).toBe(10_000);
    } finally {
      await stopWorker(worker);
      await cleanPrefix(REDIS_URL, prefix);
    }
  }, 600_000);
});
