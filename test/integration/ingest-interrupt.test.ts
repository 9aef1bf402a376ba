/**
 * Ctrl-C during `emoflow ingest` (issue #19): the run stops, says on stderr how many records it
 * wrote to which file and that `--resume` continues, and exits 130; the output holds whole
 * records only, and `--resume` completes it with every sample once.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emoflowWithin, startEmoflow } from '../support/spawn-cli.js';

const work = mkdtempSync(join(tmpdir(), 'emoflow-sigint-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const texts = join(work, 'texts');
const N = 600;
const DEADLINE = 120_000;
const ids = Array.from({ length: N }, (_, i) => `t${String(i).padStart(3, '0')}`);

beforeAll(() => {
  mkdirSync(texts);
  ids.forEach((id, i) =>
    writeFileSync(join(texts, `${id}.txt`), `Note ${i}: I am glad it worked out in the end.\n`),
  );
});

/** Resolves once `path` holds at least one byte (the first records are out). */
async function firstRecords(path: string, deadline: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const size = (() => {
      try {
        return statSync(path).size;
      } catch {
        return 0;
      }
    })();
    if (size > 0) return;
    if (Date.now() - t0 > deadline) throw new Error(`no records in ${path} after ${deadline} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('SIGINT during emoflow ingest', () => {
  it.each([1, 0])(
    'prints what was written and that --resume continues, exits 130; --resume completes it (--concurrency %i)',
    async (c) => {
      const out = join(work, `out-${c}.jsonl`);
      const args = ['ingest', texts, '--out', out, '--concurrency', String(c), '--batch', '1'];
      const run = startEmoflow(args, { timeoutMs: DEADLINE });
      await firstRecords(out, DEADLINE);
      run.child.kill('SIGINT');
      const r = await run.done;
      expect(r.timedOut, 'the run did not stop').toBe(false);
      expect(r.signal).toBeNull();
      expect(r.code, r.stderr).toBe(130);
      const m = new RegExp(
        `^emoflow: interrupted: (\\d+) records written to ${out} by this run; run the same command with --resume to continue$`,
        'm',
      ).exec(r.stderr);
      expect(m, r.stderr).not.toBeNull();
      const written = Number(m![1]);
      const text = readFileSync(out, 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      const lines = text.trimEnd().split('\n');
      expect(lines).toHaveLength(written);
      expect(written).toBeGreaterThan(0);
      expect(written).toBeLessThan(N);
      for (const l of lines) expect((JSON.parse(l) as { status: string }).status).toBe('ok');

      const again = await emoflowWithin([...args, '--resume', '--json'], { timeoutMs: DEADLINE });
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout.trim())).toMatchObject({ written: N - written, resumed: written });
      const all = readFileSync(out, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: string }).id);
      expect(all.sort()).toEqual(ids);
    },
    3 * DEADLINE,
  );
});
