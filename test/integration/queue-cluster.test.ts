import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PredictionRecord } from '../../src/pipeline/record.js';
import { readRecords, recordOutcome } from '../support/records.js';
import { startDashboard, stopDashboard } from '../../src/runtime/queue/dashboard.js';
import { keySlot, shardOfBatch, shardPrefixes } from '../../src/runtime/queue/shards.js';
import { deletePrefix } from '../../src/runtime/queue/store.js';
import { emoflow } from '../support/cli.js';
import { startWorker, stopWorker, uniquePrefix, type WorkerProcess } from '../support/queue.js';
import { startRedisCluster, type RedisClusterHarness } from '../support/redis-cluster.js';

/**
 * The queue runtime end to end on a Redis Cluster of the test's own (three masters on
 * 127.0.0.1): a worker process serving three shards, batches submitted through the CLI landing
 * on different shards (each on its own master), exported and compared with the embedded run.
 */

const SHARDS = 3;
let cluster: RedisClusterHarness;
/** A client of the test's own, to look at the nodes independently of the code under test. */
let probe: Cluster;
let dir: string;
let worker: WorkerProcess | undefined;
const base = uniquePrefix('cl-e2e');
const prefixes = shardPrefixes(base, SHARDS);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emoflow-queue-cluster-'));
  cluster = await startRedisCluster(3);
  probe = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
});

afterAll(async () => {
  if (worker !== undefined) await stopWorker(worker, 'SIGKILL');
  probe?.disconnect();
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The cluster flags every queue command of this deployment takes. */
const target = () => ['--redis', cluster.url, '--prefix', base, '--shards', String(SHARDS)];

/** The keys of one node that match `pattern` (a whole SCAN). */
async function keysOn(node: ReturnType<Cluster['nodes']>[number], pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out;
}

/** The port of each master that holds a key of `batch`. */
async function holdersOf(batch: string): Promise<number[]> {
  const ports: number[] = [];
  for (const node of probe.nodes('master'))
    if ((await keysOn(node, `*${base}*:batches:${batch}:*`)).length > 0) ports.push(node.options.port!);
  return ports;
}

/** The port of the master that serves `slot` (CLUSTER SLOTS). */
async function ownerOf(slot: number): Promise<number> {
  const rows = (await probe.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  const row = rows.find(([first, last]) => slot >= first && slot <= last);
  if (row === undefined) throw new Error(`no master serves slot ${slot}`);
  return Number(row[2][1]);
}

/** A batch id of ours that `shardOfBatch` puts on `shard`. */
function idOnShard(tag: string, shard: number): string {
  for (let i = 0; ; i++) if (shardOfBatch(`${tag}-${i}`, SHARDS) === shard) return `${tag}-${i}`;
}

describe('the queue runtime on a three-master Redis Cluster', () => {
  it('runs batches end to end through the CLI, each on its own shard and master, with the embedded run’s labels', async () => {
    // The reference: the embedded runtime on the same inputs.
    const refOut = join(dir, 'embedded.jsonl');
    const refRun = await emoflow(['ingest', 'examples', '--out', refOut]);
    expect(refRun.code, refRun.stderr).toBe(0);
    const ref = new Map((await readRecords(refOut)).map((r) => [r.id, r]));
    expect(ref.size).toBe(11);

    worker = await startWorker([...target(), '--concurrency', '1', '--input-root', 'examples']);
    // The worker serves the three shards, each on a master of its own.
    const ready = /worker ready \(.*3 shards: (.*?), (cpu|cuda)/.exec(worker.stderr());
    expect(ready, worker.stderr()).not.toBeNull();
    for (const [i, p] of prefixes.entries())
      expect(ready![1]).toContain(`${p} on 127.0.0.1:${cluster.ports[i]}`);

    // A batch named from its inputs (its id does not depend on the shard count) ...
    const posts = await emoflow(['submit', 'examples/posts', ...target(), '--json']);
    expect(posts.code, posts.stderr).toBe(0);
    const postsBatch = posts.stdout.trim().split('\n').at(-1)!;
    expect(postsBatch).toMatch(/^b-[0-9a-f]{24}$/);
    const postsShard = shardOfBatch(postsBatch, SHARDS);
    expect(JSON.parse(posts.stdout.trim().split('\n').at(-2)!)).toMatchObject({
      batch: postsBatch,
      prefix: prefixes[postsShard],
      samples: 4,
      added: 4,
    });
    // ... and two of the whole examples folder, with ids chosen for the two other shards.
    const others = [0, 1, 2].filter((s) => s !== postsShard);
    const named = others.map((s, i) => idOnShard(`cl-${i}`, s));
    for (const batch of named) {
      const run = await emoflow(['submit', 'examples', ...target(), '--batch', batch]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe(batch);
    }
    const batches = [postsBatch, ...named];

    // Each batch's keys are on one master: the one that serves its shard's slot; the three
    // batches on three different masters.
    const holders: number[] = [];
    for (const batch of batches) {
      const shard = shardOfBatch(batch, SHARDS);
      const ports = await holdersOf(batch);
      expect(ports, batch).toEqual([await ownerOf(keySlot(prefixes[shard]!))]);
      expect(ports[0]).toBe(cluster.ports[shard]);
      holders.push(ports[0]!);
    }
    expect(new Set(holders).size).toBe(3);

    // status finds a batch from its id; a command with another --shards is told which one to use.
    const st = await emoflow(['status', named[0]!, ...target(), '--json']);
    expect(st.code, st.stderr).toBe(0);
    expect(st.json()).toMatchObject({ batch: named[0], samples: 11 });
    // (Shard counts may share a shard name, and status looks under every shard of its layout:
    // a pair where no shard of the other count is the prefix that holds the batch.)
    const [lost, count] = [2, 4, 5, 6]
      .flatMap((s) => batches.map((b) => [b, s] as const))
      .find(([b, s]) => !shardPrefixes(base, s).includes(prefixes[shardOfBatch(b, SHARDS)]!))!;
    const wrong = await emoflow([
      ...['status', lost, '--redis', cluster.url, '--prefix', base, '--shards', String(count)],
    ]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(
      `emoflow: CONFIG_INVALID: batch '${lost}' is not under --prefix ${base} --shards ${count} `,
    );
    expect(wrong.stderr).toContain(
      `but under --prefix ${base} --shards 3 (prefix ${prefixes[shardOfBatch(lost, SHARDS)]})`,
    );

    // The dashboard shows every shard's queues, and a worker on each.
    const dashboard = await startDashboard({ redisUrl: cluster.url, prefix: base, shards: SHARDS, port: 0 });
    try {
      const metrics = await (await fetch(`${dashboard.url}metrics`)).text();
      for (const p of prefixes)
        expect(metrics).toContain(`emoflow_queue_workers{queue="fuse",prefix="${p}"} 1`);
      const api = (await (await fetch(`${dashboard.url}api/queues`)).json()) as {
        queues: { name: string }[];
      };
      expect(api.queues.map((q) => q.name).sort()).toEqual(
        prefixes.flatMap((p) => ['audio', 'fuse', 'image', 'text'].map((q) => `${p}:${q}`)).sort(),
      );
    } finally {
      await stopDashboard(dashboard);
    }

    // ingest --redis on the cluster: submit, stream the records, remove the batch.
    const ingestOut = join(dir, 'mixed-queue.jsonl');
    const ingesting = emoflow([...['ingest', 'examples/mixed', '--out', ingestOut, ...target(), '--json']]);
    // Every batch exported once complete.
    const exports = batches.map(async (batch) => {
      const out = join(dir, `${batch}.jsonl`);
      const run = await emoflow(['export', batch, ...target(), '--out', out, '--wait']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain(`removed batch ${batch} from Redis`);
      expect(run.stderr).not.toContain('no worker is serving');
      return readRecords(out);
    });
    const [postsRecords, ...namedRecords] = await Promise.all(exports);
    const ingested = await ingesting;
    expect(ingested.code, ingested.stderr).toBe(0);
    expect(ingested.json()).toMatchObject({ samples: 2, written: 2 });

    const check = (records: PredictionRecord[], ids: string[], refId: (id: string) => string) => {
      expect(records.map((r) => r.id).sort()).toEqual([...ids].sort());
      for (const r of records) {
        const expected = ref.get(refId(r.id))!;
        expect(r.status, r.id).toBe('ok');
        expect(recordOutcome(r), r.id).toEqual(recordOutcome(expected));
        for (const e of Object.keys(r.scores!)) {
          const k = e as keyof NonNullable<PredictionRecord['scores']>;
          expect(r.scores![k], `${r.id} ${k}`).toBeCloseTo(expected.scores![k], 3);
        }
      }
    };
    const refIds = [...ref.keys()];
    const under = (folder: string) =>
      refIds.filter((id) => id.startsWith(`${folder}/`)).map((id) => id.slice(folder.length + 1));
    check(postsRecords!, under('posts'), (id) => `posts/${id}`);
    for (const records of namedRecords) check(records, refIds, (id) => id);
    check(await readRecords(ingestOut), under('mixed'), (id) => `mixed/${id}`);

    // Exported batches are gone from every master.
    for (const batch of batches) expect(await holdersOf(batch), batch).toEqual([]);

    // retry on the cluster: files outside the worker's --input-root fail with PATH_OUTSIDE_ROOT;
    // `retry --code` removes those jobs and records and adds the flows again (scripts and flows
    // on the batch's shard only), and they are stored once more.
    const outside = join(dir, 'outside');
    await cp('examples/posts', outside, { recursive: true });
    const refused = await emoflow(['submit', outside, ...target()]);
    expect(refused.code, refused.stderr).toBe(0);
    const refusedBatch = refused.stdout.trim();
    const outsideRecords = async (name: string, ...extra: string[]) => {
      const out = join(dir, `${name}.jsonl`);
      const run = await emoflow(['export', refusedBatch, ...target(), '--out', out, '--wait', ...extra]);
      expect(run.code, run.stderr).toBe(0);
      const records = await readRecords(out);
      expect(records).toHaveLength(4);
      for (const r of records) {
        const text = r.modalities.text;
        expect(text?.status === 'error' ? text.error.code : text?.status, r.id).toBe('PATH_OUTSIDE_ROOT');
      }
    };
    await outsideRecords('outside-1', '--keep');
    const retried = await emoflow([
      ...['retry', refusedBatch, ...target(), '--code', 'PATH_OUTSIDE_ROOT', '--json'],
    ]);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.json()).toEqual({
      batch: refusedBatch,
      checked: 4,
      requeued: 4,
      redone: 4,
      existing: 0,
      notRedoable: 0,
    });
    await outsideRecords('outside-2');
    expect(await holdersOf(refusedBatch)).toEqual([]);

    // With the worker stopped, deletePrefix clears each shard's remaining keys (BullMQ's queue
    // keys) on every master it scans.
    expect(await stopWorker(worker)).toBe(0);
    worker = undefined;
    const left = async () => {
      let n = 0;
      for (const node of probe.nodes('master')) n += (await keysOn(node, `*${base}*`)).length;
      return n;
    };
    expect(await left()).toBeGreaterThan(0);
    for (const p of prefixes) await deletePrefix(probe, p);
    expect(await left()).toBe(0);
  }, 150_000);
});
