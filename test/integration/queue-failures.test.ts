/**
 * Issue #19, queue part: one failure never fails its neighbours, Redis refusing writes is an
 * error and never a loss, failed work is redone by `retry` and by submitting again, workers read
 * only under their --input-root, and a caller waiting on a batch hears when no worker serves it.
 * Each test runs on a redis-server of its own (memory limits) or under a prefix of its own.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlowProducer, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeE2eBatch } from '../../src/bench/e2e-bench.js';
import { readRecords } from '../support/records.js';
import { redisOptions } from '../../src/runtime/queue/connection.js';
import { fuseJobSchema, modalityJobSchema } from '../../src/runtime/queue/schemas.js';
import { emoflow } from '../support/cli.js';
import { cpuSeconds, liveEmoflow, startOwnRedis, type OwnRedis } from '../support/own-redis.js';
import {
  REDIS_URL,
  cleanPrefix,
  exportArgs,
  exportRecords,
  startWorker,
  stopWorker,
  uniquePrefix,
  waitFor,
  type WorkerProcess,
} from '../support/queue.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emoflow-qfail-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A manifest of `n` inline texts (no files: the workers need no --input-root). */
async function textManifest(name: string, n: number): Promise<string> {
  const path = join(dir, `${name}-manifest.jsonl`);
  const words = ['glad', 'angry', 'afraid', 'calm'];
  await writeFile(
    path,
    Array.from({ length: n }, (_, i) =>
      JSON.stringify({ id: `${name}-${i}`, text: `message ${i}: I feel ${words[i % 4]} today` }),
    ).join('\n') + '\n',
  );
  return path;
}

async function usedMemory(r: OwnRedis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await r.client.info('memory'))![1]);
}

function batchOf(stdout: string): string {
  return stdout.trim().split('\n').at(-1)!;
}

describe('Redis out of memory during submit', () => {
  it('stops with SUBMIT_INCOMPLETE naming the batch and how many samples are in; the same submit then adds exactly the rest', async () => {
    const redis = await startOwnRedis(['--maxmemory-policy', 'noeviction']);
    const prefix = 'oom-submit';
    try {
      const manifest = await textManifest('oomsub', 3000);
      await redis.client.config('SET', 'maxmemory', String((await usedMemory(redis)) + 3 * 2 ** 20));
      const args = ['submit', manifest, '--redis', redis.url, '--prefix', prefix, '--json'];
      const cut = await emoflow(args);
      expect(cut.code).toBe(1);
      const lines = cut.stderr.trim().split('\n');
      expect(lines, 'one line, no stack trace').toHaveLength(1);
      const m =
        /^emoflow: SUBMIT_INCOMPLETE: batch (b-[0-9a-f]{24}): (\d+) of 3000 samples are in Redis; Redis refused a write \(OOM/.exec(
          lines[0]!,
        );
      expect(m, lines[0]).not.toBeNull();
      const [, batch, inText] = m!;
      const inRedis = Number(inText);
      expect(inRedis).toBeGreaterThan(0);
      expect(inRedis).toBeLessThan(3000);
      // The batch says its submit is incomplete, and how far it got.
      const st = await emoflow(['status', batch!, '--redis', redis.url, '--prefix', prefix, '--json']);
      expect(st.json()).toMatchObject({ samples: 3000, submitted: inRedis, done: 0 });
      const parents = () => redis.client.zcard(`${prefix}:fuse:waiting-children`);
      const flowsBefore = await parents();
      expect(flowsBefore).toBeGreaterThanOrEqual(inRedis);
      // Memory again: the same submit adds exactly the flows that are missing.
      await redis.client.config('SET', 'maxmemory', '0');
      const again = await emoflow(args);
      expect(again.code, again.stderr).toBe(0);
      expect(batchOf(again.stdout)).toBe(batch);
      const r = JSON.parse(again.stdout.trim().split('\n').at(-2)!) as Record<string, number>;
      expect(r).toMatchObject({ samples: 3000, added: 3000 - flowsBefore, existing: flowsBefore, redone: 0 });
      expect(await parents()).toBe(3000);
      expect(await redis.client.llen(`${prefix}:text:wait`)).toBe(3000);
      const st2 = await emoflow(['status', batch!, '--redis', redis.url, '--prefix', prefix, '--json']);
      expect(st2.json()).not.toHaveProperty('submitted');
    } finally {
      await redis.stop();
    }
  }, 120_000);
});

describe('Redis out of memory under running workers', () => {
  it('makes the worker say so and back off without spinning; no job fails, and every record arrives once memory is back', async () => {
    const redis = await startOwnRedis(['--maxmemory-policy', 'noeviction']);
    const prefix = 'oom-work';
    let worker: WorkerProcess | undefined;
    try {
      const manifest = await textManifest('oomwork', 400);
      const sub = await emoflow(['submit', manifest, '--redis', redis.url, '--prefix', prefix]);
      expect(sub.code, sub.stderr).toBe(0);
      const batch = batchOf(sub.stdout);
      // Room for a few dozen records: the workers run into the limit early.
      await redis.client.config('SET', 'maxmemory', String((await usedMemory(redis)) + 200_000));
      worker = await startWorker([
        ...['--redis', redis.url, '--prefix', prefix, '--queues', 'text,fuse'],
        ...['--concurrency', '1', '--lock-ms', '4000'],
      ]);
      const w = worker;
      await waitFor(async () => /Redis refused a write \(OOM/.test(w.stderr()), 90_000, 'the OOM notice');
      // Backing off, not spinning: BullMQ alone retried its fetch in a tight loop (100 % CPU).
      const c0 = cpuSeconds(w.child.pid!);
      await new Promise((r) => setTimeout(r, 4000));
      expect(cpuSeconds(w.child.pid!) - c0).toBeLessThan(1);
      expect(await redis.client.zcard(`${prefix}:fuse:failed`)).toBe(0);
      await redis.client.config('SET', 'maxmemory', '0');
      await waitFor(async () => /Redis accepts writes again: resuming/.test(w.stderr()), 90_000, 'resuming');
      const out = join(dir, 'oomwork.jsonl');
      const exp = await emoflow([
        ...['export', batch, '--redis', redis.url, '--prefix', prefix, '--out', out, '--wait', '--json'],
      ]);
      expect(exp.code, exp.stderr).toBe(0);
      const records = await readRecords(out);
      expect(records).toHaveLength(400);
      expect(new Set(records.map((r) => r.id)).size).toBe(400);
      expect(records.filter((r) => r.status !== 'ok').map((r) => r.error)).toEqual([]);
      expect(await redis.client.zcard(`${prefix}:fuse:failed`)).toBe(0);
      expect(await redis.client.zcard(`${prefix}:text:failed`)).toBe(0);
      expect(exp.stderr).toMatch(new RegExp(`removed batch ${batch} from Redis`));
    } finally {
      if (worker !== undefined) await stopWorker(worker);
      await redis.stop();
    }
  }, 300_000);
});

describe('failed work is redone', () => {
  it('a second submit redoes samples whose fuse job failed (a failed parent no longer counts as there)', async () => {
    const prefix = uniquePrefix('refail');
    const manifest = await textManifest('refail', 20);
    const url = REDIS_URL;
    const text = await startWorker([
      '--redis',
      url,
      '--prefix',
      prefix,
      '--queues',
      'text',
      '--concurrency',
      '1',
    ]);
    let fuse: WorkerProcess | undefined;
    try {
      const sub = await emoflow(['submit', manifest, '--redis', url, '--prefix', prefix]);
      const batch = batchOf(sub.stdout);
      // Every parent fails, as a fuse job does when its store keeps failing.
      const breaker = new Worker(
        'fuse',
        async () => {
          throw new UnrecoverableError('could not store the record');
        },
        { connection: redisOptions(url), prefix },
      );
      const redis = new Redis(url);
      try {
        await waitFor(
          async () => (await redis.zcard(`${prefix}:fuse:failed`)) === 20,
          60_000,
          '20 failed parents',
        );
      } finally {
        await breaker.close();
      }
      const again = await emoflow(['submit', manifest, '--redis', url, '--prefix', prefix, '--json']);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout.trim().split('\n').at(-2)!)).toMatchObject({
        batch,
        added: 20,
        redone: 20,
        existing: 0,
      });
      expect(await redis.zcard(`${prefix}:fuse:failed`)).toBe(0);
      redis.disconnect();
      fuse = await startWorker([
        '--redis',
        url,
        '--prefix',
        prefix,
        '--queues',
        'fuse',
        '--concurrency',
        '1',
      ]);
      const records = await exportRecords(batch, url, prefix, join(dir, 'refail.jsonl'));
      expect(records.map((r) => r.status)).toEqual(Array(20).fill('ok'));
    } finally {
      await stopWorker(text);
      if (fuse !== undefined) await stopWorker(fuse);
      await cleanPrefix(url, prefix);
    }
  }, 180_000);

  it('`emoflow retry` redoes the samples whose record failed or is partial with EXTRACTION_FAILED, and only those', async () => {
    const root = await makeE2eBatch(join(dir, 'retry'), 1); // 7 samples: every subset of text, image, audio
    const prefix = uniquePrefix('retry');
    const url = REDIS_URL;
    const base = ['--redis', url, '--prefix', prefix, '--concurrency', '1', '--input-root', root];
    const workers: WorkerProcess[] = [await startWorker([...base, '--queues', 'text,audio,fuse'])];
    // Image jobs die as they would on a crash-looping worker: not an input error.
    const breaker = new Worker(
      'image',
      async () => {
        throw new UnrecoverableError('job stalled more than allowable limit');
      },
      { connection: redisOptions(url), prefix },
    );
    try {
      const sub = await emoflow(['submit', root, '--redis', url, '--prefix', prefix]);
      const batch = batchOf(sub.stdout);
      const out = join(dir, 'retry-1.jsonl');
      const first = await emoflow([
        ...['export', batch, '--redis', url, '--prefix', prefix, '--out', out, '--wait', '--keep'],
      ]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toMatch(/kept batch/);
      await breaker.close();
      const byId = new Map((await readRecords(out)).map((r) => [r.id, r]));
      const withImage = [...byId.keys()].filter((id) => id.split('-').includes('image')).sort();
      expect(withImage).toHaveLength(4);
      for (const id of withImage) {
        const img = byId.get(id)!.modalities.image;
        expect(img?.status === 'error' && img.error.code).toBe('EXTRACTION_FAILED');
      }
      const retried = await emoflow(['retry', batch, '--redis', url, '--prefix', prefix, '--json']);
      expect(retried.code, retried.stderr).toBe(0);
      expect(retried.json()).toEqual({
        batch,
        checked: 7,
        requeued: 4,
        redone: 4,
        existing: 3,
        notRedoable: 0,
      });
      const st = await emoflow(['status', batch, '--redis', url, '--prefix', prefix, '--json']);
      expect(st.json()).toMatchObject({ samples: 7, done: 3, pending: 4 });
      workers.push(await startWorker([...base, '--queues', 'image']));
      const out2 = join(dir, 'retry-2.jsonl');
      const second = await emoflow([
        ...['export', batch, '--redis', url, '--prefix', prefix, '--out', out2, '--wait', '--json'],
      ]);
      expect(second.code, second.stderr).toBe(0);
      expect(second.json()).toMatchObject({
        written: 7,
        complete: true,
        removed: true,
        status: { samples: 7, done: 7, records: { ok: 7, partial: 0, failed: 0 } },
      });
      const again = new Map((await readRecords(out2)).map((r) => [r.id, r]));
      for (const id of withImage) expect(again.get(id)!.modalities.image?.status).toBe('ok');
      // The samples without an image were not redone: the same record as before.
      for (const id of [...byId.keys()].filter((i) => !withImage.includes(i)))
        expect(again.get(id)).toEqual(byId.get(id));
    } finally {
      await breaker.close();
      for (const w of workers) await stopWorker(w);
      await cleanPrefix(url, prefix);
    }
  }, 300_000);
});

describe('workers read only under their --input-root', () => {
  it('refuse a job whose file is outside (paths, absolute roots, symlinks, missing files alike) and quote no bytes of a file in errors', async () => {
    const inside = join(dir, 'roots', 'inside');
    const outside = join(dir, 'roots', 'outside');
    await mkdir(inside, { recursive: true });
    await mkdir(outside, { recursive: true });
    await writeFile(join(inside, 'ok.txt'), 'What a wonderful day, I am so happy!\n');
    await writeFile(join(inside, 'latin1.txt'), Buffer.from([0x6f, 0x6b, 0x20, 0xe9, 0xff, 0x41, 0x42]));
    await writeFile(join(inside, 'fake.wav'), 'SECRET:x:0:0:the first line of a private file\n');
    await writeFile(join(outside, 'secret.txt'), 'The launch code is 0000. I am furious.\n');
    await symlink(join(outside, 'secret.txt'), join(inside, 'link.txt'));
    const prefix = uniquePrefix('roots');
    const url = REDIS_URL;
    const batch = 'roots-batch';
    const jobs: { id: string; modality: 'text' | 'audio'; input: Record<string, string> }[] = [
      { id: 'ok', modality: 'text', input: { path: 'ok.txt', root: inside } },
      { id: 'etc', modality: 'text', input: { path: 'etc/passwd', root: '/' } },
      { id: 'dotdot', modality: 'text', input: { path: '../outside/secret.txt', root: inside } },
      { id: 'absolute', modality: 'text', input: { path: join(outside, 'secret.txt'), root: inside } },
      { id: 'missing', modality: 'text', input: { path: 'nothing/here.txt', root: '/no-such-dir' } },
      { id: 'link', modality: 'text', input: { path: 'link.txt', root: inside } },
      { id: 'latin1', modality: 'text', input: { path: 'latin1.txt', root: inside } },
      { id: 'fakewav', modality: 'audio', input: { path: 'fake.wav', root: inside } },
      { id: 'inline', modality: 'text', input: { text: 'I am so happy today!' } },
    ];
    const producer = new FlowProducer({ connection: redisOptions(url), prefix });
    const add = (b: string) =>
      producer.addBulk(
        jobs.map((j) => ({
          name: 'sample',
          queueName: 'fuse',
          data: fuseJobSchema.parse({ batch: b, sampleId: j.id, inputs: {}, modalities: [j.modality] }),
          opts: { jobId: `${b}-fuse-${j.id}` },
          children: [
            {
              name: j.modality,
              queueName: j.modality,
              data: modalityJobSchema.parse({
                batch: b,
                sampleId: j.id,
                modality: j.modality,
                input: j.input,
              }),
              opts: { jobId: `${b}-${j.modality}-${j.id}`, ignoreDependencyOnFailure: true },
            },
          ],
        })),
      );
    const common = ['--redis', url, '--prefix', prefix, '--concurrency', '1', '--queues', 'text,audio,fuse'];
    let worker = await startWorker([...common, '--input-root', inside]);
    try {
      await add(batch);
      const got = new Map(
        (await exportRecords(batch, url, prefix, join(dir, 'roots.jsonl'))).map((r) => [r.id, r]),
      );
      const outcome = (id: string) => {
        const m = Object.values(got.get(id)!.modalities)[0]!;
        return m.status === 'ok' ? 'ok' : m.error.code;
      };
      const message = (id: string) => {
        const m = Object.values(got.get(id)!.modalities)[0]!;
        return m.status === 'ok' ? '' : m.error.message;
      };
      expect(Object.fromEntries(jobs.map((j) => [j.id, outcome(j.id)]))).toEqual({
        ok: 'ok',
        etc: 'PATH_OUTSIDE_ROOT',
        dotdot: 'PATH_OUTSIDE_ROOT',
        absolute: 'PATH_OUTSIDE_ROOT',
        // Not FILE_NOT_FOUND: outside the roots, whether a file exists is not told.
        missing: 'PATH_OUTSIDE_ROOT',
        link: 'PATH_OUTSIDE_ROOT',
        latin1: 'TEXT_ENCODING',
        fakewav: 'AUDIO_DECODE_FAILED',
        inline: 'ok',
      });
      expect(message('latin1')).toMatch(/byte offset 3/);
      expect(message('latin1')).not.toMatch(/\(bytes|ff 41/i);
      expect(message('fakewav')).toMatch(/not a RIFF\/WAVE file/);
      expect(message('fakewav')).not.toMatch(/SECR|ET:x/);
      for (const r of got.values()) expect(JSON.stringify(r)).not.toMatch(/launch code|SECRET/);
      await stopWorker(worker);
      // A worker with no --input-root takes inline inputs only.
      worker = await startWorker(common);
      await add('roots-batch-2');
      const got2 = new Map(
        (await exportRecords('roots-batch-2', url, prefix, join(dir, 'roots-2.jsonl'))).map((r) => [r.id, r]),
      );
      expect(got2.get('inline')!.status).toBe('ok');
      const ok2 = got2.get('ok')!.modalities.text;
      expect(ok2?.status === 'error' && ok2.error).toMatchObject({
        code: 'PATH_OUTSIDE_ROOT',
        message: expect.stringMatching(/this worker reads no files.*--input-root/),
      });
      expect(worker.stderr()).toMatch(/PATH_OUTSIDE_ROOT: .*logged once per job root/);
    } finally {
      await producer.close();
      await stopWorker(worker);
      await cleanPrefix(url, prefix);
    }
  }, 180_000);
});

describe('waiting on a batch that no worker serves', () => {
  it('export --wait and ingest --redis say so on stderr within seconds, say again when it changes, and finish once workers come', async () => {
    const prefix = uniquePrefix('nowork');
    const url = REDIS_URL;
    const manifest = await textManifest('nowork', 3);
    const other = await textManifest('nowork-export', 3);
    const workers: WorkerProcess[] = [];
    const ingest = liveEmoflow([
      ...['ingest', manifest, '--out', join(dir, 'nowork-ingest.jsonl'), '--redis', url, '--prefix', prefix],
    ]);
    try {
      const t = await ingest.waitStderr(
        /no worker is serving queues text, fuse \(prefix [^)]+\) for batch b-/,
        20_000,
      );
      expect(t).toBeLessThan(15_000);
      const sub = await emoflow(['submit', other, '--redis', url, '--prefix', prefix]);
      const batch = batchOf(sub.stdout);
      const exp = liveEmoflow(exportArgs(batch, url, prefix, join(dir, 'nowork.jsonl')));
      await exp.waitStderr(/no worker is serving queues text, fuse/, 10_000);
      // A text worker arrives: what is missing changes, and is said again.
      workers.push(
        await startWorker(['--redis', url, '--prefix', prefix, '--queues', 'text', '--concurrency', '1']),
      );
      await exp.waitStderr(/no worker is serving queue fuse \(/, 20_000);
      await ingest.waitStderr(/no worker is serving queue fuse \(/, 20_000);
      workers.push(
        await startWorker(['--redis', url, '--prefix', prefix, '--queues', 'fuse', '--concurrency', '1']),
      );
      expect(await exp.exited).toBe(0);
      expect(await ingest.exited).toBe(0);
      expect(exp.stderr()).toMatch(new RegExp(`removed batch ${batch} from Redis`));
      expect(ingest.stderr()).toMatch(/removed batch b-[0-9a-f]{24} from Redis/);
      expect(exp.stdout()).toMatch(/^3 records -> /);
    } finally {
      await ingest.kill();
      for (const w of workers) await stopWorker(w);
      await cleanPrefix(url, prefix);
    }
  }, 180_000);
});
