import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkPrefix, maskUrl, redisOptions } from '../src/runtime/queue/connection.js';
import { deriveBatchId, fuseJobId, modalityJobId } from '../src/runtime/queue/keys.js';
import { defaultShards, queueLayout } from '../src/runtime/queue/layout.js';
import { MicroBatcher } from '../src/runtime/queue/micro-batcher.js';
import { jsonSchemas, modalityJobSchema } from '../src/runtime/queue/schemas.js';
import { shardOfBatch, shardPrefixes } from '../src/runtime/queue/shards.js';
import { failureToError } from '../src/runtime/queue/worker.js';
import { repoRoot } from './support/paths.js';

describe('queue ids (docs/queue.md)', () => {
  it('derive the batch id from sample ids and content hashes, whatever their order', () => {
    const a = [
      { sampleId: 'x', hashes: ['text:aa'] },
      { sampleId: 'y', hashes: ['image:bb', 'audio:cc'] },
    ];
    expect(deriveBatchId(a)).toBe(deriveBatchId([...a].reverse()));
    expect(deriveBatchId(a)).toMatch(/^b-[0-9a-f]{24}$/);
    expect(deriveBatchId([{ sampleId: 'x', hashes: ['text:ab'] }, a[1]!])).not.toBe(deriveBatchId(a));
  });

  it('derive job ids from batch, sample, modality and content; the modality leads the id', () => {
    const id = modalityJobId('b-1', 's/1', 'image', 'ff'.repeat(32));
    expect(id).toBe(modalityJobId('b-1', 's/1', 'image', 'ff'.repeat(32)));
    expect(id).toMatch(/^image-[0-9a-f]{32}$/);
    expect(modalityJobId('b-1', 's/1', 'image', 'fe'.repeat(32))).not.toBe(id);
    expect(fuseJobId('b-1', 's/1')).not.toBe(fuseJobId('b-2', 's/1'));
  });
});

describe('redis URLs', () => {
  it('take password, database and TLS from the URL, and mask the password in messages', () => {
    const o = redisOptions('rediss://user:p%40ss@cache.example:6380/3');
    expect(o).toMatchObject({ host: 'cache.example', port: 6380, db: 3, username: 'user', password: 'p@ss' });
    expect(o.tls).toEqual({ servername: 'cache.example' });
    expect(o.maxRetriesPerRequest).toBeNull();
    expect(redisOptions('redis://:secret@127.0.0.1').password).toBe('secret');
    expect(redisOptions('redis://127.0.0.1').tls).toBeUndefined();
    expect(maskUrl('redis://:secret@h:1/0')).toBe('redis://:***@h:1/0');
    expect(() => redisOptions('http://h')).toThrow(/redis:\/\/ or rediss:\/\//);
    expect(() => checkPrefix('a b')).toThrow(/prefix/);
    expect(checkPrefix('{emoflow}')).toBe('{emoflow}');
  });
});

describe('queue layouts (--prefix, --shards)', () => {
  const cluster = 'redis+cluster://127.0.0.1:7000,127.0.0.1:7001';
  it('keep one shard under the prefix as given, so single-Redis keys do not change', () => {
    const one = queueLayout('emoflow', 1, 'redis://127.0.0.1:6379');
    expect(one.prefixes).toEqual(['emoflow']);
    expect(one.prefixOf('b-1')).toBe('emoflow');
    expect(one.flags).toBe('--prefix emoflow');
    expect(queueLayout('{emoflow}', 1, cluster).prefixes).toEqual(['{emoflow}']);
    // One untagged shard on a cluster would put keys of one queue in many slots: refused, naming both fixes.
    expect(() => queueLayout('emoflow', 1, cluster)).toThrow(/--prefix '\{emoflow\}'.*--shards N/);
    expect(() => queueLayout('a b', 1)).toThrow(/prefix/);
  });

  it('put a batch on the shard shardOfBatch names, under that shard’s hash-tagged prefix', () => {
    for (const url of [cluster, 'redis://127.0.0.1:6379']) {
      const three = queueLayout('emoflow', 3, url);
      expect(three.prefixes).toEqual(['{emoflow-0.13}', '{emoflow-1.12}', '{emoflow-2.12}']);
      expect(three.prefixes).toEqual(shardPrefixes('emoflow', 3));
      expect(three.flags).toBe('--prefix emoflow --shards 3');
      const seen = new Set<string>();
      for (let i = 0; i < 30; i++) {
        const batch = `b-${i}`;
        expect(three.prefixOf(batch)).toBe(three.prefixes[shardOfBatch(batch, 3)]);
        seen.add(three.prefixOf(batch));
      }
      expect(seen.size).toBe(3);
    }
    expect(queueLayout('{emoflow}', 3, cluster).prefixes).toEqual(queueLayout('emoflow', 3).prefixes);
    expect(() => queueLayout('a{b}', 2, cluster)).toThrow(/braces/);
  });

  it('take the default shard count from EMOFLOW_SHARDS, and refuse a bad one in one line', () => {
    expect(defaultShards({})).toBe(1);
    expect(defaultShards({ EMOFLOW_SHARDS: ' ' })).toBe(1);
    expect(defaultShards({ EMOFLOW_SHARDS: '3' })).toBe(3);
    for (const bad of ['0', '-1', '2.5', 'three', '2000'])
      expect(() => defaultShards({ EMOFLOW_SHARDS: bad }), bad).toThrow(
        /EMOFLOW_SHARDS='.*': use an integer/,
      );
  });
});

describe('MicroBatcher', () => {
  it('gathers calls into batches of at most max, runs at most `parallel` at once, and fails only the bad item', async () => {
    const seen: number[][] = [];
    let running = 0;
    let most = 0;
    const b = new MicroBatcher<number, number>(
      async (items) => {
        running++;
        most = Math.max(most, running);
        seen.push(items);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        return items.map((x) =>
          x === 13 ? { ok: false, error: new Error('thirteen') } : { ok: true, value: x * 2 },
        );
      },
      { max: 4, gatherMs: 5, parallel: 2 },
    );
    const calls = Array.from({ length: 14 }, (_, i) => b.submit(i));
    const out = await Promise.allSettled(calls);
    expect(out.slice(0, 13).map((o) => (o.status === 'fulfilled' ? o.value : null))).toEqual(
      Array.from({ length: 13 }, (_, i) => i * 2),
    );
    expect(out[13]).toMatchObject({ status: 'rejected', reason: new Error('thirteen') });
    expect(seen.every((s) => s.length <= 4)).toBe(true);
    expect(seen.flat().sort((x, y) => x - y)).toEqual(Array.from({ length: 14 }, (_, i) => i));
    expect(most).toBe(2);
  });
});

describe('job payloads', () => {
  it('turn an input error back into the record error, and anything else into EXTRACTION_FAILED', () => {
    expect(failureToError('{"code":"AUDIO_EMPTY","message":"a.wav: silent"}', 'audio')).toEqual({
      code: 'AUDIO_EMPTY',
      message: 'a.wav: silent',
    });
    expect(failureToError('connection lost', 'image')).toEqual({
      code: 'EXTRACTION_FAILED',
      message: 'image: connection lost',
    });
  });

  it('are published as JSON Schema in docs/schemas, matching the schemas the workers validate with', async () => {
    for (const [name, schema] of Object.entries(jsonSchemas())) {
      const committed = JSON.parse(
        await readFile(join(repoRoot, 'docs', 'schemas', `${name}.schema.json`), 'utf8'),
      ) as unknown;
      expect(committed, `${name}: run node dist/scripts/json-schemas.js`).toEqual(
        JSON.parse(JSON.stringify(schema)),
      );
    }
    expect(
      modalityJobSchema.safeParse({ batch: 'b', sampleId: 's', modality: 'text', input: { text: 'hi' } })
        .success,
    ).toBe(true);
    expect(
      modalityJobSchema.safeParse({ batch: 'b', sampleId: 's', modality: 'video', input: { text: 'hi' } })
        .success,
    ).toBe(false);
  });
});
