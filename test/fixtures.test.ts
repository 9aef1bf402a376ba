import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, sharedNeed } from './support/paths.js';

/** Every file under test/fixtures, relative to it. */
function files(dir = fixture()): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [relative(fixture(), join(dir, e.name))],
  );
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Committed copies and the files they copy (test/fixtures/README.md). */
const COPIES = [
  'models/golden/fer_mini_xception_golden.json',
  'models/universal-sentence-encoder-lite/reference_tfjs.json',
];

describe('test/fixtures', () => {
  it('stays under 200 kB in all, and its README names every file', () => {
    const all = files();
    expect(all).toEqual(expect.arrayContaining([...COPIES, 'README.md']));
    const bytes = all.reduce((n, f) => n + statSync(fixture(f)).size, 0);
    expect(bytes).toBeLessThan(200_000);
    const readme = readFileSync(fixture('README.md'), 'utf8');
    for (const f of all.filter((f) => f !== 'README.md')) expect(readme).toContain(`\`${f}\``);
  });

  for (const copy of COPIES) {
    const original = sharedNeed(copy);
    it.skipIf(original.missing)(`${copy} is a byte-for-byte copy of the original ${original.tag}`, () => {
      expect(sha256(fixture(copy))).toBe(sha256(original.path));
    });
  }
});
