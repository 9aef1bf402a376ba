/**
 * Output on a full disk (issue #19): the run used to wait forever for a `drain` that never came.
 * Now it stops with OUTPUT_WRITE_FAILED, the output holds whole records only, and `--resume`
 * after freeing space completes it with every sample once. The disk is a real 200 kB tmpfs
 * (mounting needs root; the tests are skipped otherwise, saying why).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, afterEach, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { emoflowWithin } from '../support/spawn-cli.js';

const work = mkdtempSync(join(tmpdir(), 'emoflow-full-disk-'));
const disk = join(work, 'disk');
const texts = join(work, 'texts');
const N = 300;
const DEADLINE = 90_000;

/** Why the tests cannot run here, or undefined when a tmpfs can be mounted. */
function cannotMount(): string | undefined {
  if (process.platform !== 'linux') return 'tmpfs mounts need Linux';
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  mkdirSync(disk, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=200k', 'tmpfs', disk], { stdio: 'pipe' });
    execFileSync('umount', [disk], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return `cannot mount a tmpfs here: ${(e as Error).message.split('\n')[0]}`;
  }
}
const skipReason = cannotMount();

function skipUnlessMounted(ctx: TestContext): void {
  if (skipReason !== undefined) ctx.skip(skipReason);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=200k', 'tmpfs', disk], { stdio: 'pipe' });
}

/** Fills the 200 kB disk but `free` bytes with a file that the test deletes to free space. */
function fillBut(free: number): string {
  const filler = join(disk, 'filler');
  writeFileSync(filler, Buffer.alloc(200 * 1024 - free));
  return filler;
}

beforeAll(() => {
  mkdirSync(texts, { recursive: true });
  for (let i = 0; i < N; i++)
    writeFileSync(
      join(texts, `t${String(i).padStart(3, '0')}.txt`),
      `Message ${i}: I am so happy today, but a little nervous about tomorrow.\n`,
    );
});
afterEach(() => {
  try {
    execFileSync('umount', [disk], { stdio: 'pipe' });
  } catch {
    // not mounted (skipped test)
  }
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ids = Array.from({ length: N }, (_, i) => `t${String(i).padStart(3, '0')}`);

function ingest(out: string, ...more: string[]) {
  return emoflowWithin(['ingest', texts, '--out', out, '--concurrency', '1', '--batch', '8', ...more], {
    timeoutMs: DEADLINE,
  });
}

/** The record count the OUTPUT_WRITE_FAILED message says was written. */
function keptCount(stderr: string): number {
  const m =
    /emoflow: OUTPUT_WRITE_FAILED: writing .* failed \(ENOSPC: .*\); the (\d+) records this run wrote before it stay in .*; free some space, then run the same command with --resume to continue/.exec(
      stderr,
    );
  expect(m, stderr).not.toBeNull();
  return Number(m![1]);
}

describe('ingest onto a full disk', () => {
  it(
    'JSONL: stops with OUTPUT_WRITE_FAILED leaving whole lines, and --resume completes every sample once',
    async (ctx) => {
      skipUnlessMounted(ctx);
      const out = join(disk, 'out.jsonl');
      const filler = fillBut(40 * 1024);
      const r = await ingest(out);
      expect(r.timedOut, 'the run hung on the full disk').toBe(false);
      expect(r.code, r.stderr).toBe(1);
      const kept = keptCount(r.stderr);
      const text = readFileSync(out, 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      const lines = text.trimEnd().split('\n');
      expect(lines).toHaveLength(kept);
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThan(N);
      for (const l of lines) expect((JSON.parse(l) as { status: string }).status).toBe('ok');

      rmSync(filler);
      const again = await ingest(out, '--resume', '--json');
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout.trim())).toMatchObject({ written: N - kept, resumed: kept });
      const all = readFileSync(out, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: string }).id);
      expect(all.sort()).toEqual(ids);
    },
    3 * DEADLINE,
  );

  it(
    'CSV: the header and whole rows stay; --resume appends the rest without a second header',
    async (ctx) => {
      skipUnlessMounted(ctx);
      const out = join(disk, 'out.csv');
      const filler = fillBut(12 * 1024);
      const r = await ingest(out);
      expect(r.timedOut, 'the run hung on the full disk').toBe(false);
      expect(r.code, r.stderr).toBe(1);
      const kept = keptCount(r.stderr);
      const rows = parseCsv(readFileSync(out, 'utf8'), { columns: true }) as { id: string }[];
      expect(rows).toHaveLength(kept);

      rmSync(filler);
      const again = await ingest(out, '--resume');
      expect(again.code, again.stderr).toBe(0);
      const all = parseCsv(readFileSync(out, 'utf8'), { columns: true }) as { id: string; status: string }[];
      expect(all.map((x) => x.id).sort()).toEqual(ids);
      expect(all.every((x) => x.status === 'ok')).toBe(true);
    },
    3 * DEADLINE,
  );

  it(
    'Parquet: the journal keeps whole records, and --resume writes a Parquet file of every sample once',
    async (ctx) => {
      skipUnlessMounted(ctx);
      const out = join(disk, 'out.parquet');
      const filler = fillBut(40 * 1024);
      const r = await ingest(out);
      expect(r.timedOut, 'the run hung on the full disk').toBe(false);
      expect(r.code, r.stderr).toBe(1);
      const kept = keptCount(r.stderr);
      expect(readFileSync(`${out}.journal`, 'utf8').trimEnd().split('\n')).toHaveLength(kept);

      rmSync(filler);
      const again = await ingest(out, '--resume');
      expect(again.code, again.stderr).toBe(0);
      const rows = (await parquetReadObjects({
        file: await asyncBufferFromFile(out),
        columns: ['id'],
      })) as { id: string }[];
      expect(rows.map((x) => x.id).sort()).toEqual(ids);
      expect(() => statSync(`${out}.journal`)).toThrow();
    },
    3 * DEADLINE,
  );
});

describe('emoflow features onto a full disk', () => {
  it(
    'stops with OUTPUT_WRITE_FAILED; run again with room, it extracts only what the cache lacks',
    async (ctx) => {
      skipUnlessMounted(ctx);
      // 60 texts of 512 float32 each: 120 kB of vectors, more than the room left, less than the disk.
      const some = ids.slice(0, 60);
      const manifest = join(work, 'texts.csv');
      writeFileSync(manifest, 'id,text_path\n' + some.map((id) => `${id},texts/${id}.txt`).join('\n') + '\n');
      const out = join(disk, 'features');
      const filler = fillBut(48 * 1024);
      const args = ['features', manifest, '--out', out, '--modalities', 'text', '--json'];
      const r = await emoflowWithin(args, { timeoutMs: DEADLINE });
      expect(r.timedOut, 'the run hung on the full disk').toBe(false);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^emoflow: OUTPUT_WRITE_FAILED: writing .*features.* failed \(ENOSPC/m);

      rmSync(filler);
      const again = await emoflowWithin(args, { timeoutMs: DEADLINE });
      expect(again.code, again.stderr).toBe(0);
      const summary = JSON.parse(again.stdout.trim()) as {
        samples: number;
        modalities: { text: { extracted: number; cached: number; errors: number } };
      };
      expect(summary.samples).toBe(some.length);
      const t = summary.modalities.text;
      expect(t.errors).toBe(0);
      expect(t.cached).toBeGreaterThan(0); // what the first run wrote is not extracted again
      expect(t.extracted + t.cached).toBe(some.length);
    },
    3 * DEADLINE,
  );
});

describe('an output that is no regular file', () => {
  it('refuses /dev/full as --out, even with --force (which would delete it)', async (ctx) => {
    if (process.platform !== 'linux') ctx.skip('/dev/full is Linux');
    const r = await emoflowWithin(['ingest', texts, '--out', '/dev/full', '--force'], {
      timeoutMs: DEADLINE,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'emoflow: CONFIG_INVALID: --out /dev/full: /dev/full exists and is not a regular file',
    );
    expect(statSync('/dev/full').isCharacterDevice()).toBe(true);
  });
});
