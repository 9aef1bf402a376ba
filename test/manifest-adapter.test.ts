import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCorpusSpec } from '../src/data/corpus-spec.js';
import { readManifestSamples } from '../src/data/adapters/manifest.js';
import { resolveInside } from '../src/io/paths.js';

const root = mkdtempSync(join(tmpdir(), 'emoflow-manifest-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('readManifestSamples', () => {
  it('reads a CSV manifest with paths relative to its folder and label columns', async () => {
    const p = join(root, 'm.csv');
    writeFileSync(
      p,
      'id,text,image,audio,group,order,speaker,emotion\nu1,"Hi, there",faces/a.png,,d1,0,Ross,joy\nu2,,,clips/b.wav,d1,1,Rachel,anger\n',
    );
    const samples = await readManifestSamples(p);
    expect(samples).toEqual([
      {
        id: 'u1',
        root,
        text: 'Hi, there',
        image: 'faces/a.png',
        group: 'd1',
        order: 0,
        speaker: 'Ross',
        labels: { emotion: 'joy' },
      },
      {
        id: 'u2',
        root,
        audio: 'clips/b.wav',
        group: 'd1',
        order: 1,
        speaker: 'Rachel',
        labels: { emotion: 'anger' },
      },
    ]);
  });

  it('reads JSON Lines and keeps numeric labels', async () => {
    const p = join(root, 'm.jsonl');
    writeFileSync(p, '{"id":"a","text_path":"t/a.txt","valence":0.5}\n\n{"id":"b","text":"ok"}\n');
    const samples = await readManifestSamples(p);
    expect(samples.map((s) => [s.id, s.textPath, s.text, s.labels])).toEqual([
      ['a', 't/a.txt', undefined, { valence: 0.5 }],
      ['b', undefined, 'ok', {}],
    ]);
  });

  it.each([
    ['dup.csv', 'id,text\na,x\na,y\n', /line 3: id 'a' repeats the id of line 2/],
    ['noid.csv', 'name,text\na,x\n', /line 1: the header has no 'id' column/],
    ['fields.csv', 'id,text\na,x,extra\n', /line 2: 3 fields where the header has 2/],
    ['both.csv', 'id,text,text_path\na,x,t.txt\n', /line 2: both 'text' and 'text_path'/],
    ['order.csv', 'id,order\na,first\n', /line 2: 'order' must be an integer/],
    ['bad.jsonl', '{"id":"a"}\n{"id": oops}\n', /bad\.jsonl: line 2, column \d+/],
  ])('rejects %s with MANIFEST_INVALID naming the line', async (name, body, pattern) => {
    const p = join(root, name);
    writeFileSync(p, body);
    await expect(readManifestSamples(p)).rejects.toMatchObject({
      code: 'MANIFEST_INVALID',
      message: expect.stringMatching(pattern) as string,
    });
  });
});

describe('resolveInside', () => {
  it('keeps paths inside the root and rejects escapes, also through symlinks', async () => {
    const inside = join(root, 'in');
    mkdirSync(join(inside, 'sub'), { recursive: true });
    writeFileSync(join(inside, 'sub', 'ok.txt'), 'x');
    writeFileSync(join(root, 'secret.txt'), 'x');
    symlinkSync(join(root, 'secret.txt'), join(inside, 'link.txt'));
    expect(await resolveInside(inside, 'sub/ok.txt')).toBe(join(inside, 'sub', 'ok.txt'));
    await expect(resolveInside(inside, '../secret.txt')).rejects.toMatchObject({ code: 'PATH_OUTSIDE_ROOT' });
    await expect(resolveInside(inside, join(root, 'secret.txt'))).rejects.toMatchObject({
      code: 'PATH_OUTSIDE_ROOT',
    });
    await expect(resolveInside(inside, 'link.txt')).rejects.toMatchObject({
      code: 'PATH_OUTSIDE_ROOT',
      message: expect.stringContaining('symlink') as string,
    });
    await expect(resolveInside(inside, 'sub/missing.txt')).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});

describe('parseCorpusSpec', () => {
  it('reads adapter, path and split, and takes bare manifests', () => {
    expect(parseCorpusSpec('meld:/data/meld#dev')).toEqual({
      adapter: 'meld',
      path: '/data/meld',
      split: 'dev',
    });
    expect(parseCorpusSpec('data/m.csv')).toEqual({
      adapter: 'manifest',
      path: 'data/m.csv',
      split: undefined,
    });
    expect(() => parseCorpusSpec('data/folder')).toThrowError(/not a corpus spec/);
  });
});
