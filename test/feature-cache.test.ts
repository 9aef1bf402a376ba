import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { corpusToDataset } from '../src/data/corpus-dataset.js';
import { loadCorpus } from '../src/data/datasets.js';
import { sha256 } from '../src/io/read-input.js';
import { FeatureCache, sampleIndexName } from '../src/data/feature-cache.js';
import { toyTextExtractor } from './support/extractors.js';

const root = mkdtempSync(join(tmpdir(), 'emoflow-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const spec = { name: 'toy', version: '1', dim: 3 };
const sha = (i: number) => i.toString(16).padStart(64, '0');

describe('FeatureCache', () => {
  it('round-trips vectors, metadata and input errors across reopen', async () => {
    const c = await FeatureCache.open(root, spec);
    await c.put(sha(1), { status: 'ok', vector: Float32Array.of(1, 2, 3), meta: { frames: 7 } });
    await c.put(sha(2), { status: 'error', error: { code: 'AUDIO_EMPTY', message: 'silent' } });
    await c.put(sha(3), { status: 'ok', vector: Float32Array.of(-1, 0.5, 1e-8), meta: {} });
    expect(c.get(sha(3))).toEqual({ status: 'ok', vector: Float32Array.of(-1, 0.5, 1e-8), meta: {} });
    await c.close();
    const again = await FeatureCache.open(root, spec);
    expect(again.size).toBe(3);
    expect(again.get(sha(1))).toEqual({
      status: 'ok',
      vector: Float32Array.of(1, 2, 3),
      meta: { frames: 7 },
    });
    expect(again.get(sha(2))).toEqual({ status: 'error', error: { code: 'AUDIO_EMPTY', message: 'silent' } });
    expect(again.get(sha(4))).toBeUndefined();
    await again.close();
  });

  it('keys by name and version: another version is another folder', async () => {
    const v2 = await FeatureCache.open(root, { ...spec, version: '2' });
    expect(v2.size).toBe(0);
    expect(v2.dir).toBe(join(root, 'toy@2'));
    await v2.close();
  });

  it('recovers from a torn tail: a half-written vector and index line are cut off', async () => {
    const dir = join(root, 'toy@1');
    appendFileSync(join(dir, 'vectors.f32'), new Uint8Array(5)); // 5 stray bytes of a 12-byte row
    appendFileSync(join(dir, 'index.jsonl'), '{"sha256":"' + sha(9) + '","ro');
    const c = await FeatureCache.open(root, spec);
    expect(c.size).toBe(3);
    expect(statSync(join(dir, 'vectors.f32')).size).toBe(2 * 12);
    await c.put(sha(5), { status: 'ok', vector: Float32Array.of(5, 5, 5), meta: {} });
    await c.close();
    const d = await FeatureCache.open(root, spec);
    expect(d.get(sha(5))).toEqual({ status: 'ok', vector: Float32Array.of(5, 5, 5), meta: {} });
    expect(d.get(sha(3))).toEqual({ status: 'ok', vector: Float32Array.of(-1, 0.5, 1e-8), meta: {} });
    expect(readFileSync(join(dir, 'index.jsonl'), 'utf8').trim().split('\n')).toHaveLength(4);
    await d.close();
  });

  it('refuses a folder whose dimension disagrees with the spec', async () => {
    const c = await FeatureCache.open(root, { name: 'odd', version: '1', dim: 4 });
    await c.close();
    await expect(FeatureCache.open(root, { name: 'odd', version: '1', dim: 5 })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });
});

describe('FeatureCache with two writers', () => {
  const spec2 = { name: 'shared', version: '1', dim: 2 };

  it('lets one write at a time: the second waits, reads what the first appended, then appends its own', async () => {
    const a = await FeatureCache.open(root, spec2);
    const waits: string[] = [];
    const b = await FeatureCache.open(root, spec2, { onWait: (m) => waits.push(m) });
    await a.put(sha(1), { status: 'ok', vector: Float32Array.of(1, 1), meta: {} });
    let bDone = false;
    const bWrites = b
      .put(sha(2), { status: 'ok', vector: Float32Array.of(2, 2), meta: {} })
      .then(() => (bDone = true));
    await new Promise((r) => setTimeout(r, 500));
    expect(bDone).toBe(false); // a holds the writer lock
    await a.put(sha(3), { status: 'ok', vector: Float32Array.of(3, 3), meta: {} });
    await a.close();
    await bWrites;
    // b caught up with a's two rows before appending: its row is the third.
    expect(b.get(sha(1))).toEqual({ status: 'ok', vector: Float32Array.of(1, 1), meta: {} });
    await b.close();
    const c = await FeatureCache.open(root, spec2);
    expect(c.size).toBe(3);
    for (const i of [1, 2, 3])
      expect(c.get(sha(i))).toEqual({ status: 'ok', vector: Float32Array.of(i, i), meta: {} });
    await c.close();
    expect(existsSync(join(root, 'shared@1', 'writer.lock'))).toBe(false);
  });

  it('waits for another process that holds the lock, saying so once, and takes over a stale lock', async () => {
    const dir = join(root, 'shared@1');
    // A live process (a child that sleeps) holds the lock.
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 1500)'], { stdio: 'ignore' });
    writeFileSync(join(dir, 'writer.lock'), `${child.pid}\n`);
    const waits: string[] = [];
    const d = await FeatureCache.open(root, spec2, { onWait: (m) => waits.push(m) });
    const started = Date.now();
    await d.put(sha(4), { status: 'ok', vector: Float32Array.of(4, 4), meta: {} });
    expect(Date.now() - started).toBeGreaterThan(500);
    expect(waits).toEqual([
      `${dir}: process ${child.pid} is writing to this feature cache; waiting for it to finish`,
    ]);
    await d.close();
    // A lock left by a process that is gone does not block.
    writeFileSync(join(dir, 'writer.lock'), `${child.pid}\n`);
    const e = await FeatureCache.open(root, spec2, { onWait: () => expect.fail('no wait for a stale lock') });
    await e.put(sha(5), { status: 'ok', vector: Float32Array.of(5, 5), meta: {} });
    await e.close();
    const f = await FeatureCache.open(root, spec2);
    expect(f.size).toBe(5);
    expect(f.get(sha(4))).toEqual({ status: 'ok', vector: Float32Array.of(4, 4), meta: {} });
    await f.close();
  });
});

describe('sample indexes', () => {
  it('gives two manifests of the same file name in different folders separate indexes', async () => {
    const base = mkdtempSync(join(tmpdir(), 'emoflow-index-'));
    try {
      const out = join(base, 'cache');
      // The same manifest text in two folders: its relative text_path names a different file in each.
      const texts = { a: 'hello', b: 'goodbye' };
      for (const [folder, text] of Object.entries(texts)) {
        mkdirSync(join(base, folder));
        writeFileSync(join(base, folder, 'manifest.csv'), 'id,text_path,emotion\nclip,t.txt,joy\n');
        writeFileSync(join(base, folder, 't.txt'), text);
      }
      // An index under the pre-hash name (one index per file name) is ignored, not read or rewritten.
      mkdirSync(join(out, 'index'), { recursive: true });
      writeFileSync(join(out, 'index', 'manifest-manifest.csv.jsonl'), 'not json\n');

      const run = async (folder: 'a' | 'b') => {
        const corpus = await loadCorpus(`manifest:${join(base, folder, 'manifest.csv')}`);
        return {
          corpus,
          ...(await corpusToDataset(corpus, { extractors: [toyTextExtractor], cacheDir: out })),
        };
      };
      const a = await run('a');
      const b = await run('b');
      expect(a.corpus.name).toBe(b.corpus.name);
      expect(sampleIndexName(a.corpus)).not.toBe(sampleIndexName(b.corpus));
      expect(sampleIndexName(a.corpus)).toMatch(/^manifest-manifest\.csv-[0-9a-f]{12}$/);
      expect(a.summary.index).not.toBe(b.summary.index);
      expect(basename(a.summary.index)).toBe(`${sampleIndexName(a.corpus)}.jsonl`);
      expect(readdirSync(join(out, 'index')).sort()).toEqual(
        [basename(a.summary.index), basename(b.summary.index), 'manifest-manifest.csv.jsonl'].sort(),
      );
      expect(readFileSync(join(out, 'index', 'manifest-manifest.csv.jsonl'), 'utf8')).toBe('not json\n');

      // Round trip: each index keys its own input, and the cache gives back that input's vector.
      const cache = await FeatureCache.open(out, toyTextExtractor.spec);
      for (const [got, text] of [
        [a, texts.a],
        [b, texts.b],
      ] as const) {
        const lines = readFileSync(got.summary.index, 'utf8').trim().split('\n');
        expect(lines).toHaveLength(1);
        const line = JSON.parse(lines[0]!) as { id: string; text: { sha256: string; status: string } };
        expect(line.id).toBe('clip');
        expect(line.text).toEqual({ sha256: sha256(Buffer.from(text)), status: 'ok' });
        const vector = Float32Array.of(text.length, text.charCodeAt(0));
        expect(cache.get(line.text.sha256)).toEqual({ status: 'ok', vector, meta: {} });
        expect(got.dataset.features.text!.data).toEqual(vector);
      }
      await cache.close();

      // A second run reads both from the cache and rewrites each index in place.
      const again = await run('a');
      expect(again.summary.index).toBe(a.summary.index);
      expect(again.summary.modalities.text).toEqual({ extracted: 0, cached: 1, errors: 0 });
      expect(existsSync(b.summary.index)).toBe(true);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
