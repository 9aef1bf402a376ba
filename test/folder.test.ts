import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sample } from '../src/core/sample.js';
import { walkFolder } from '../src/data/folder.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emoflow-folder-'));
  const files = [
    'calls/0042.txt',
    'calls/0042.JPG',
    'calls/0042.wav',
    'calls/0042.png', // a second image of the same sample
    'calls/0007.wav',
    'calls/deep/x.txt',
    'b.txt',
    'a.tiff',
    'a.md',
    'README',
    '.hidden.txt',
    '.cache/y.txt',
  ];
  for (const f of files) {
    await mkdir(join(dir, f, '..'), { recursive: true });
    await writeFile(join(dir, f), 'x');
  }
  await mkdir(join(dir, 'elsewhere'));
  await symlink(join(dir, 'elsewhere'), join(dir, 'linked-folder'));
  await symlink(join(dir, 'b.txt'), join(dir, 'link.txt'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('walkFolder (docs/ingest.md folder grouping)', () => {
  it('groups files sharing a stem into one sample, in a stable order, and names what it skips', async () => {
    const walk = walkFolder(dir);
    const samples: Sample[] = [];
    for await (const s of walk.samples) samples.push(s);
    const view = samples.map(({ id, textPath, image, audio }) => ({ id, textPath, image, audio }));
    expect(view).toEqual([
      { id: 'a', textPath: undefined, image: 'a.tiff', audio: undefined },
      { id: 'b', textPath: 'b.txt', image: undefined, audio: undefined },
      { id: 'link', textPath: 'link.txt', image: undefined, audio: undefined },
      { id: 'calls/0007', textPath: undefined, image: undefined, audio: 'calls/0007.wav' },
      { id: 'calls/0042', textPath: 'calls/0042.txt', image: 'calls/0042.JPG', audio: 'calls/0042.wav' },
      { id: 'calls/deep/x', textPath: 'calls/deep/x.txt', image: undefined, audio: undefined },
    ]);
    expect(samples.every((s) => s.root === dir)).toBe(true);
    expect(walk.skipped).toEqual([
      { path: 'README', reason: 'no extension' },
      { path: 'a.md', reason: 'unknown extension .md' },
      { path: 'linked-folder', reason: 'symlinked folder (not followed)' },
      { path: 'calls/0042.png', reason: 'a second image for sample calls/0042 (calls/0042.JPG is used)' },
    ]);
    expect(walk.counts).toEqual({ skipped: 4, hidden: 2 });
  });
});
