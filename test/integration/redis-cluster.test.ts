import { FlowProducer, Queue, QueueEvents, Worker } from 'bullmq';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEmoflowError } from '../../src/core/errors.js';
import {
  bullConnection,
  checkPrefix,
  connectRedis,
  connectRedisClient,
  parseRedisUrl,
  type RedisClient,
} from '../../src/runtime/queue/connection.js';
import { startDashboard, stopDashboard } from '../../src/runtime/queue/dashboard.js';
import { evenSlotRange, keySlot, shardOfBatch, shardPrefixes } from '../../src/runtime/queue/shards.js';
import { emoflow } from '../support/cli.js';
import { REDIS_URL, uniquePrefix } from '../support/queue.js';
import { startRedisCluster, type RedisClusterHarness } from '../support/redis-cluster.js';

let cluster: RedisClusterHarness;
/** A client of the test's own, to look at the cluster independently of the code under test. */
let probe: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  probe = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
});

afterAll(async () => {
  probe?.disconnect();
  await cluster?.stop();
});

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, 'expected a rejection').toBeInstanceOf(Error);
  return e as Error;
}

/** The slot ranges each master serves, by port (CLUSTER SLOTS). */
async function slotRanges(): Promise<Map<number, [number, number][]>> {
  const rows = (await probe.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
  const byPort = new Map<number, [number, number][]>();
  for (const [first, last, master] of rows) {
    const port = Number(master[1]);
    byPort.set(port, [...(byPort.get(port) ?? []), [first, last]]);
  }
  return byPort;
}

/** The port of the master that serves `slot`. */
async function ownerOf(slot: number): Promise<number> {
  for (const [port, ranges] of await slotRanges()) {
    if (ranges.some(([a, b]) => slot >= a && slot <= b)) return port;
  }
  throw new Error(`no master serves slot ${slot}`);
}

describe('cluster slots and shard prefixes', () => {
  it('computes the slot of a key as CLUSTER KEYSLOT does, hash tags included', async () => {
    const keys = [
      'emoflow:text:wait',
      '{emoflow}:text:wait',
      '{emoflow}:fuse:1',
      'a{b}c',
      'a{}b{c}',
      '{}x',
      'x{y',
      '{{a}}',
      'ünïcödé:{ключ}',
      '123456789',
      '',
    ];
    for (const key of keys)
      expect(keySlot(key), key).toBe(Number(await probe.call('CLUSTER', 'KEYSLOT', key)));
    // The CRC16 check value of Redis's cluster spec: CRC16("123456789") = 0x31C3.
    expect(keySlot('123456789')).toBe(0x31c3 % 16384);
  });

  it('gives the three shards of the default setup slots on three different masters', async () => {
    const ranges = await slotRanges();
    // redis-cli splits the slots evenly, in the order the nodes were given: what evenSlotRange says.
    cluster.ports.forEach((port, i) => expect(ranges.get(port)).toEqual([evenSlotRange(i, 3)]));

    const shards = shardPrefixes('emoflow', 3);
    expect(shards).toEqual(shardPrefixes('{emoflow}', 3));
    expect(new Set(shards).size).toBe(3);
    const owners = await Promise.all(shards.map((p) => ownerOf(keySlot(`${p}:text:wait`))));
    expect(owners).toEqual(cluster.ports);
    expect(shardPrefixes('emoflow', 1)).toEqual(['{emoflow}']);
    for (const p of shards) expect(checkPrefix(p, cluster.url)).toBe(p);

    // Other shard counts spread as evenly: S shards on S even ranges, one each.
    for (const s of [2, 4, 5, 8]) {
      const slots = shardPrefixes('orders', s).map((p) => keySlot(p));
      slots.forEach((slot, i) => {
        const [first, last] = evenSlotRange(i, s);
        expect(slot, `shard ${i} of ${s}`).toBeGreaterThanOrEqual(first);
        expect(slot, `shard ${i} of ${s}`).toBeLessThanOrEqual(last);
      });
    }
    expect(() => shardPrefixes('a{b}', 3)).toThrow(/braces/);
    expect(() => shardPrefixes('emoflow', 0)).toThrow(/--shards/);
  });

  it('assigns batches to shards by their id alone, spreading them', () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) counts[shardOfBatch(`b-${i}`, 3)]!++;
    for (const n of counts) expect(n).toBeGreaterThan(900);
    expect(shardOfBatch('b-42', 3)).toBe(shardOfBatch('b-42', 3));
    expect(shardOfBatch('b-42', 1)).toBe(0);
  });
});

describe('connecting to a cluster', () => {
  it('parses the cluster URL form, with credentials and TLS for every node', () => {
    const t = parseRedisUrl('rediss+cluster://ops:p%40ss@h1:7000,h2,[::1]:7002');
    expect(t.kind).toBe('cluster');
    if (t.kind !== 'cluster') return;
    expect(t.nodes).toEqual([
      { host: 'h1', port: 7000 },
      { host: 'h2', port: 6379 },
      { host: '::1', port: 7002 },
    ]);
    expect(t.options.redisOptions).toMatchObject({ username: 'ops', password: 'p@ss', tls: {} });
    expect(t.options.redisOptions?.maxRetriesPerRequest).toBeNull();
    expect(() => parseRedisUrl('redis+cluster://h1:1,h2:2/3')).toThrow(/database 0/);
    expect(() => parseRedisUrl('redis+cluster://h1:1,:2')).toThrow(/host:port/);
    const multi = (() => {
      try {
        parseRedisUrl('redis://:secret@h1:7000,h2:7001');
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(isEmoflowError(multi, 'CONFIG_INVALID')).toBe(true);
    expect(multi!.message).toContain('redis+cluster://:***@h1:7000,h2:7001');
    expect(multi!.message).not.toContain('secret');
  });

  it('connects with the cluster URL, and refuses a plain URL to a node at once instead of looping on MOVED', async () => {
    const client: RedisClient = await connectRedisClient(cluster.url, 5000);
    try {
      expect(client).toBeInstanceOf(Cluster);
      // Keys of all three masters through one client.
      for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) await client.set(`${uniquePrefix('k')}-${key}`, '1');
    } finally {
      client.disconnect();
    }
    // One seed node is enough.
    const one = await connectRedisClient(`redis+cluster://127.0.0.1:${cluster.ports[1]}`, 5000);
    expect(await one.ping()).toBe('PONG');
    one.disconnect();

    const plain = `redis://127.0.0.1:${cluster.ports[0]}`;
    for (const connect of [connectRedis, connectRedisClient]) {
      const started = Date.now();
      const e = await errorOf(connect(plain, 10_000));
      expect(Date.now() - started).toBeLessThan(3000);
      expect(isEmoflowError(e, 'CONFIG_INVALID'), String(e)).toBe(true);
      expect(e.message).toContain(`redis+cluster://127.0.0.1:${cluster.ports[0]}`);
    }
    // The cluster form against a Redis that is not a cluster node.
    const started = Date.now();
    const notCluster = await errorOf(
      connectRedisClient(REDIS_URL.replace('redis://', 'redis+cluster://'), 10_000),
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(isEmoflowError(notCluster, 'CONFIG_INVALID'), String(notCluster)).toBe(true);
    expect(notCluster.message).toContain('not a cluster node');
    // The commands that take one Redis only say so, instead of failing later.
    const single = await errorOf(connectRedis(cluster.url, 5000));
    expect(isEmoflowError(single, 'CONFIG_INVALID')).toBe(true);
    expect(single.message).toContain('does not take');
    // A cluster prefix needs a hash tag.
    expect(() => checkPrefix('emoflow', cluster.url)).toThrow(/\{emoflow\}/);
    expect(checkPrefix('emoflow', REDIS_URL)).toBe('emoflow');
  });

  it('`emoflow worker` on a plain URL to a cluster node stops at once with one line, not "ready"', async () => {
    const started = Date.now();
    const run = await emoflow([
      'worker',
      '--redis',
      `redis://127.0.0.1:${cluster.ports[2]}`,
      '--queues',
      'text',
    ]);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^emoflow: CONFIG_INVALID: .*redis\+cluster:\/\/127\.0\.0\.1:\d+.*\n$/);
    expect(run.stderr).not.toContain('ready');
  });
});

describe('BullMQ on a sharded prefix', () => {
  it('runs flows on every shard through one cluster connection, each shard on its own master', async () => {
    const base = uniquePrefix('cl');
    const shards = shardPrefixes(base, 3);
    const bull = bullConnection(cluster.url);
    const objects: { close(): Promise<unknown> }[] = [];
    try {
      const connection = bull.connection;
      for (const prefix of shards) checkPrefix(prefix, cluster.url);
      const workers = shards.flatMap((prefix) =>
        (['text', 'audio', 'fuse'] as const).map(
          (name) =>
            new Worker(
              name,
              async (job) =>
                name === 'fuse' ? { children: Object.keys(await job.getChildrenValues()).length } : name,
              { connection, prefix },
            ),
        ),
      );
      objects.push(...workers);
      const producers = shards.map((prefix) => new FlowProducer({ connection, prefix }));
      objects.push(...producers);
      const events = shards.map((prefix) => new QueueEvents('fuse', { connection, prefix }));
      objects.push(...events);
      await Promise.all(events.map((e) => e.waitUntilReady()));

      const perShard = 4;
      const done = events.map(
        (e) =>
          new Promise<unknown[]>((resolve) => {
            const values: unknown[] = [];
            e.on('completed', ({ returnvalue }) => {
              values.push(returnvalue);
              if (values.length === perShard) resolve(values);
            });
          }),
      );
      for (const [s, producer] of producers.entries()) {
        for (let i = 0; i < perShard; i++) {
          await producer.add({
            name: 'sample',
            queueName: 'fuse',
            data: { shard: s, i },
            children: [
              { name: 'text', queueName: 'text', data: { i } },
              { name: 'audio', queueName: 'audio', data: { i } },
            ],
          });
        }
      }
      const results = await Promise.all(done);
      for (const values of results) expect(values).toEqual(Array(perShard).fill({ children: 2 }));

      // Every key of a shard on one master, the three shards on three different masters.
      const masters = probe.nodes('master');
      const holders = new Map<string, Set<number>>(shards.map((p) => [p, new Set()]));
      for (const node of masters) {
        const keys = await node.keys(`*${base}*`);
        for (const key of keys) {
          const shard = shards.find((p) => key.startsWith(`${p}:`));
          expect(shard, key).toBeDefined();
          holders.get(shard!)!.add(node.options.port!);
        }
      }
      const where = shards.map((p) => [...holders.get(p)!]);
      for (const ports of where) expect(ports).toHaveLength(1);
      expect(new Set(where.map((p) => p[0])).size).toBe(3);
      // Each shard holds its queues' keys: its four jobs' parents completed there.
      for (const prefix of shards) {
        const fuse = new Queue('fuse', { connection, prefix });
        objects.push(fuse);
        expect(await fuse.getJobCounts('completed')).toEqual({ completed: perShard });
      }

      // The dashboard reads a shard over the cluster URL, metrics included.
      const dashboard = await startDashboard({ redisUrl: cluster.url, prefix: shards[1]!, port: 0 });
      try {
        const metrics = await (await fetch(`${dashboard.url}metrics`)).text();
        expect(metrics).toContain(
          `emoflow_queue_jobs{queue="fuse",state="completed",prefix="${shards[1]}"} ${perShard}`,
        );
        expect(metrics).toContain(`emoflow_queue_workers{queue="text",prefix="${shards[1]}"} 1`);
      } finally {
        await stopDashboard(dashboard);
      }
      const refused = await errorOf(startDashboard({ redisUrl: cluster.url, prefix: base, port: 0 }));
      expect(isEmoflowError(refused, 'CONFIG_INVALID')).toBe(true);
    } finally {
      for (const o of objects.reverse()) await o.close();
      await bull.close();
      for (const node of probe.nodes('master')) {
        const keys = await node.keys(`*${base}*`);
        if (keys.length > 0) await node.del(...keys);
      }
    }
  });
});

describe('the cluster harness', () => {
  it('is a real three-master cluster', async () => {
    const info = String(await probe.call('CLUSTER', 'INFO'));
    expect(info).toContain('cluster_state:ok');
    expect(info).toContain('cluster_size:3');
    expect(
      probe
        .nodes('master')
        .map((n) => n.options.port)
        .sort(),
    ).toEqual([...cluster.ports].sort());
  });
});
