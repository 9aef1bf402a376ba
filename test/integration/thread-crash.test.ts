/**
 * One input that kills its extraction thread must not fail its neighbours (issue #19). The
 * culprit is a real 60 MB text read whole (`--max-text-bytes` 1 GiB) by threads capped at 64 MB
 * of heap: decoding and normalising it runs its thread out of memory. The pool replaces the
 * thread, extracts the rest of the micro-batch again one sample at a time, and only the culprit
 * gets EXTRACTION_FAILED; the run goes on and exits 0.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sample } from '../../src/core/sample.js';
import type { PredictionRecord } from '../../src/pipeline/record.js';
import { startExtraction } from '../../src/runtime/embedded/extract-pool.js';
import { emoflowWithin } from '../support/spawn-cli.js';

const work = mkdtempSync(join(tmpdir(), 'emoflow-crash-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const DEADLINE = 120_000;
const withCulprit = join(work, 'with');
const without = join(work, 'without');
const TEXTS = [
  'What a wonderful day, I am delighted.',
  'I am furious, you broke your promise again.',
  'This is so sad, I miss her every day.',
  'The parcel arrives on Tuesday.',
  'I am scared of what the doctor will say.',
  'Wow, I did not expect that at all!',
];

beforeAll(() => {
  mkdirSync(withCulprit);
  mkdirSync(without);
  TEXTS.forEach((t, i) => {
    writeFileSync(join(withCulprit, `t${i}.txt`), t + '\n');
    writeFileSync(join(without, `t${i}.txt`), t + '\n');
  });
  // 20 million U+2019 (3 bytes each): 60 MB, 40 MB of heap per copy of the decoded string.
  writeFileSync(join(withCulprit, 't2x.txt'), '\u2019'.repeat(20_000_000));
});

function records(path: string): Map<string, PredictionRecord> {
  return new Map(
    readFileSync(path, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as PredictionRecord)
      .map((r) => [r.id, r]),
  );
}

const HEAVY = ['--max-text-bytes', String(2 ** 30), '--thread-memory', '64'];

describe('a sample that runs its extraction thread out of memory', () => {
  it(
    'gets EXTRACTION_FAILED alone; its micro-batch neighbours score as in a run without it; exit 0',
    async () => {
      const out = join(work, 'with.jsonl');
      const r = await emoflowWithin(
        ['ingest', withCulprit, '--out', out, '--concurrency', '2', '--batch', '4', '--json', ...HEAVY],
        { timeoutMs: DEADLINE },
      );
      expect(r.timedOut, 'the run hung').toBe(false);
      expect(r.code, r.stderr).toBe(0);
      const clean = join(work, 'without.jsonl');
      const c = await emoflowWithin(['ingest', without, '--out', clean, '--concurrency', '1'], {
        timeoutMs: DEADLINE,
      });
      expect(c.code, c.stderr).toBe(0);

      const got = records(out);
      const ref = records(clean);
      expect(got.size).toBe(TEXTS.length + 1);
      const culprit = got.get('t2x')!;
      expect(culprit.status).toBe('failed');
      const text = culprit.modalities.text;
      expect(text?.status).toBe('error');
      if (text?.status !== 'error') return;
      expect(text.error).toEqual({
        code: 'EXTRACTION_FAILED',
        message:
          't2x: its extraction ran its worker thread out of memory (the limit is 64 MB of heap per thread); the other samples of its micro-batch were extracted again without it',
      });
      for (const [id, want] of ref) {
        const have = got.get(id)!;
        expect(have.status, id).toBe('ok');
        expect(have.label, id).toBe(want.label);
        expect(have.scores, id).toEqual(want.scores);
      }
      expect(JSON.parse(r.stdout.trim())).toMatchObject({
        records: { ok: TEXTS.length, partial: 0, failed: 1 },
        errors: { EXTRACTION_FAILED: 1 },
      });
    },
    3 * DEADLINE,
  );

  it(
    'the pool API (as the queue worker calls it) resolves every sample in order instead of rejecting the batch, and keeps working',
    async () => {
      const ex = await startExtraction({
        workers: 1,
        threadHeapMb: 64,
        maxTextBytes: 2 ** 30,
        modalities: ['text'],
        vad: false,
        device: 'cpu',
        threads: 1,
        batch: 8,
        onWarning: () => undefined,
      });
      try {
        const sample = (id: string, file: string): Sample => ({
          id,
          root: withCulprit,
          textPath: file,
          labels: {},
        });
        const batch = [sample('a', 't0.txt'), sample('x', 't2x.txt'), sample('b', 't1.txt')];
        const got = await ex.extract(batch);
        expect(got.map((f) => f.id)).toEqual(['a', 'x', 'b']);
        expect(got[1]!.modalities.text).toMatchObject({
          status: 'error',
          error: { code: 'EXTRACTION_FAILED' },
        });
        // The neighbours were extracted alone: the replacement thread gives them the same vectors.
        const again = [...(await ex.extract([batch[0]!])), ...(await ex.extract([batch[2]!]))];
        for (const [i, f] of [
          [0, got[0]!],
          [1, got[2]!],
        ] as const) {
          const want = again[i]!.modalities.text;
          const have = f.modalities.text;
          expect(have?.status === 'ok' && want?.status === 'ok').toBe(true);
          if (have?.status === 'ok' && want?.status === 'ok')
            expect(Array.from(have.vector)).toEqual(Array.from(want.vector));
        }
      } finally {
        await ex.close();
      }
    },
    3 * DEADLINE,
  );
});
