/**
 * Inputs that used to hang or kill `emoflow ingest` (issue #19): a FIFO named by a folder entry,
 * a symlink or a manifest line; a folder where a file was expected; a file name that is not
 * UTF-8; texts of megabytes. Every run has a deadline: a hang fails the test.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PredictionRecord } from '../../src/pipeline/record.js';
import { predictionRecordSchema } from '../../src/pipeline/record.js';
import { emoflowWithin } from '../support/spawn-cli.js';
import { repoRoot } from '../support/paths.js';

const work = mkdtempSync(join(tmpdir(), 'emoflow-hostile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const DEADLINE = 90_000;
const HAPPY = 'What a wonderful day, I am so delighted and happy!\n';
const MiB = 1024 * 1024;

function records(path: string): Map<string, PredictionRecord> {
  const out = new Map<string, PredictionRecord>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    const r = predictionRecordSchema.parse(JSON.parse(line));
    out.set(r.id, r);
  }
  return out;
}

function textError(r: PredictionRecord | undefined): string | undefined {
  const t = r?.modalities.text;
  return t?.status === 'error' ? t.error.code : t?.status;
}

describe('a batch folder of FIFOs, a non-UTF-8 name and a 2 MB text', () => {
  const root = join(work, 'folder');
  // 'caf\xe9' in Latin-1: not valid UTF-8. The id keeps the byte as U+DCE9 (surrogateescape).
  const rawName = Buffer.concat([Buffer.from(join(root, 'caf')), Buffer.from([0xe9]), Buffer.from('.txt')]);
  beforeAll(() => {
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'ok.txt'), HAPPY);
    execFileSync('mkfifo', [join(root, 'pipe.txt')]);
    symlinkSync('pipe.txt', join(root, 'link-to-pipe.txt'));
    writeFileSync(rawName, HAPPY);
    writeFileSync(join(root, 'big.txt'), 'x'.repeat(2 * MiB - 12) + ' I am happy\n');
  });

  it(
    'refuses the FIFO and the link to it with INPUT_NOT_REGULAR, reads the raw name, cuts the big text at 1 MiB',
    async () => {
      const out = join(work, 'folder.jsonl');
      const r = await emoflowWithin(['ingest', root, '--out', out, '--concurrency', '1', '--json'], {
        timeoutMs: DEADLINE,
      });
      expect(r.timedOut, 'the run hung').toBe(false);
      expect(r.code, r.stderr).toBe(0);
      const got = records(out);
      expect([...got.keys()].sort()).toEqual(['big', 'caf\udce9', 'link-to-pipe', 'ok', 'pipe']);
      expect(textError(got.get('pipe'))).toBe('INPUT_NOT_REGULAR');
      expect(textError(got.get('link-to-pipe'))).toBe('INPUT_NOT_REGULAR');
      const pipe = got.get('pipe')!.modalities.text;
      expect(pipe?.status === 'error' && pipe.error.message).toContain('a FIFO');
      // The file with the raw name is read and scored as the same text under a valid name.
      const raw = got.get('caf\udce9')!;
      expect(raw.status).toBe('ok');
      expect(raw.inputs.text).toBe('caf\udce9.txt');
      expect(raw.scores).toEqual(got.get('ok')!.scores);
      expect(got.get('ok')!.label).toBe('joy');
      const big = got.get('big')!;
      expect(big.status).toBe('ok');
      const cut = big.warnings.filter((w) => w.code === 'TEXT_TRUNCATED').map((w) => w.message);
      expect(cut).toContain(
        `big.txt: the text is ${2 * MiB} bytes; only its first ${MiB} bytes were read (the text byte cap is ${MiB} bytes)`,
      );
      expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toMatchObject({
        written: 5,
        errors: { INPUT_NOT_REGULAR: 2 },
      });
    },
    DEADLINE + 10_000,
  );
});

describe('a manifest naming a FIFO and a folder, with a 1.5 MB inline text', () => {
  const root = join(work, 'manifest');
  beforeAll(() => {
    mkdirSync(join(root, 'a-folder.txt'), { recursive: true });
    execFileSync('mkfifo', [join(root, 'pipe.txt')]);
    writeFileSync(join(root, 'ok.txt'), HAPPY);
    const lines = [
      { id: 'fifo', text_path: 'pipe.txt' },
      { id: 'folder', text_path: 'a-folder.txt' },
      { id: 'ok', text_path: 'ok.txt' },
      { id: 'inline', text: 'é'.repeat(750_000) + ' I am happy' },
    ];
    writeFileSync(join(root, 'm.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    execFileSync('mkfifo', [join(root, 'manifest-pipe.jsonl')]);
  });

  it(
    'records INPUT_NOT_REGULAR for the FIFO and the folder, cuts the inline text at a character boundary',
    async () => {
      const out = join(work, 'manifest.jsonl');
      const r = await emoflowWithin(['ingest', join(root, 'm.jsonl'), '--out', out, '--concurrency', '2'], {
        timeoutMs: DEADLINE,
      });
      expect(r.timedOut, 'the run hung').toBe(false);
      expect(r.code, r.stderr).toBe(0);
      const got = records(out);
      expect(textError(got.get('fifo'))).toBe('INPUT_NOT_REGULAR');
      expect(textError(got.get('folder'))).toBe('INPUT_NOT_REGULAR');
      expect(got.get('ok')!.status).toBe('ok');
      const inline = got.get('inline')!;
      expect(inline.status).toBe('ok');
      // 'é' is 2 bytes: 1 MiB holds 524,288 of them exactly.
      expect(inline.warnings.map((w) => w.message)).toContain(
        `inline (text): the text is ${1_500_000 + 11} bytes; only its first ${MiB} bytes were read (the text byte cap is ${MiB} bytes)`,
      );
    },
    DEADLINE + 10_000,
  );

  it(
    'refuses a FIFO given as the manifest itself (exit 1) instead of waiting on it',
    async () => {
      const r = await emoflowWithin(
        ['ingest', join(root, 'manifest-pipe.jsonl'), '--out', join(work, 'never.jsonl')],
        { timeoutMs: DEADLINE },
      );
      expect(r.timedOut, 'the run hung').toBe(false);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^emoflow: INPUT_NOT_REGULAR: .*manifest-pipe\.jsonl: neither a folder nor a regular file/m,
      );
    },
    DEADLINE + 10_000,
  );

  it(
    'refuses a FIFO named by a corpus spec (manifest:, meld:) in ingest and eval instead of waiting on it',
    async () => {
      const pipe = join(root, 'manifest-pipe.jsonl');
      for (const args of [
        ['ingest', `manifest:${pipe}`, '--out', join(work, 'never-spec.jsonl')],
        ['eval', '--head', join(repoRoot, 'models', 'heads', 'default'), '--data', `meld:${pipe}`],
      ]) {
        const r = await emoflowWithin(args, { timeoutMs: DEADLINE });
        expect(r.timedOut, `${args[0]} hung`).toBe(false);
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toMatch(
          /^emoflow: INPUT_NOT_REGULAR: .*manifest-pipe\.jsonl: neither a folder nor a regular file/m,
        );
      }
    },
    2 * DEADLINE + 10_000,
  );
});
