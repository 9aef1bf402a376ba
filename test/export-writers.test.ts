import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { parse as parseCsv } from 'csv-parse/sync';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import { readParquet } from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMOTIONS } from '../src/core/labels.js';
import { flattenRows, round4, roundRecord } from '../src/export/flatten.js';
import { formatOf, openOutput, type Format } from '../src/export/writers.js';
import type { PredictionRecord } from '../src/pipeline/record.js';
import { rng } from './support/rng.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emoflow-writers-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Records of every shape: ok with two modalities, partial, failed. */
function records(n: number, seed = 1): PredictionRecord[] {
  const r = rng(seed);
  const rnd = () => (r() + 1) / 2;
  const head = { name: 'h', sha256: 'ab'.repeat(32) };
  return Array.from({ length: n }, (_, i): PredictionRecord => {
    const id = `s/${String(i).padStart(5, '0')}, "quoted"`;
    if (i % 5 === 4) {
      const error = { code: 'AUDIO_EMPTY' as const, message: `clip ${i}: all digital silence` };
      return {
        id,
        status: 'failed',
        label: null,
        scores: null,
        valence: null,
        arousal: null,
        modalities: { audio: { status: 'error', error } },
        inputs: { audio: `s/${i}.wav` },
        head,
        warnings: [],
        error,
      };
    }
    const raw = EMOTIONS.map(() => rnd());
    const total = raw.reduce((a, b) => a + b, 0);
    const scores = Object.fromEntries(
      EMOTIONS.map((e, k) => [e, raw[k]! / total]),
    ) as PredictionRecord['scores'] & object;
    const label = EMOTIONS.reduce((b, e) => (scores[e] > scores[b] ? e : b));
    return {
      id,
      status: i % 5 === 3 ? 'partial' : 'ok',
      label,
      scores,
      valence: rnd() * 2 - 1,
      arousal: i % 2 === 0 ? null : rnd() * 2 - 1,
      modalities: {
        text: { status: 'ok', label, scores, contribution: 1 },
        ...(i % 5 === 3
          ? {
              image: {
                status: 'error' as const,
                error: { code: 'IMAGE_DECODE_FAILED' as const, message: 'bad' },
              },
            }
          : {}),
      },
      inputs: { text: `s/${i}.txt` },
      // Every seventh record has a timeline: two segments, one row each in CSV and Parquet.
      ...(i % 7 === 2
        ? {
            segments: [
              { start: 0.25, end: 3.5, label, scores, valence: 0.125, arousal: null },
              { start: 4, end: 9.75, label: 'fear' as const, scores, valence: null, arousal: -0.5 },
            ],
          }
        : {}),
      head,
      warnings: [],
    };
  });
}

async function writeAll(
  path: string,
  format: Format,
  recs: PredictionRecord[],
  mode: 'new' | 'resume' | 'force',
) {
  const { writer, done } = await openOutput(path, format, mode);
  const todo = recs.filter((r) => !done.has(r.id));
  for (let i = 0; i < todo.length; i += 7) await writer.write(todo.slice(i, i + 7));
  await writer.close();
  return done;
}

async function readBack(path: string, format: Format): Promise<Record<string, unknown>[]> {
  if (format === 'jsonl')
    return (await readFile(path, 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .flatMap((l) => flattenRows(JSON.parse(l) as PredictionRecord));
  if (format === 'csv') {
    const numeric = new Set<string>([...EMOTIONS, 'valence', 'arousal', 'segment', 'start', 'end']);
    return (parseCsv(await readFile(path), { columns: true }) as Record<string, string>[]).map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([k, v]) => [k, v === '' ? null : numeric.has(k) ? Number(v) : v]),
      ),
    );
  }
  const table = tableFromIPC(readParquet(new Uint8Array(await readFile(path))).intoIPCStream());
  return table.toArray().map((r) => (r as { toJSON(): Record<string, unknown> }).toJSON());
}

describe('export writers', () => {
  it('rounds floats to 4 decimals and nothing else', () => {
    expect(round4(0.123456)).toBe(0.1235);
    expect(round4(-0.00004)).toBe(0);
    const r = roundRecord(records(1)[0]!);
    expect(r.valence).toBe(round4(records(1)[0]!.valence!));
    expect(r.id).toBe(records(1)[0]!.id);
  });

  it('picks the format from --format, else the extension', () => {
    expect(formatOf('a.csv')).toBe('csv');
    expect(formatOf('a.PARQUET')).toBe('parquet');
    expect(formatOf('a.out')).toBe('jsonl');
    expect(formatOf('a.csv', 'jsonl')).toBe('jsonl');
    expect(() => formatOf('a', 'xlsx')).toThrow(/CONFIG_INVALID|not one of/);
  });

  it('csv: a record cut short between its segment rows is written again whole by --resume', async () => {
    const recs = records(4); // record 2 has two segments
    const path = join(dir, 'seg-cut.csv');
    await writeAll(path, 'csv', recs.slice(0, 2), 'new');
    // The process dies having written record 2's first segment row, a whole line, and no more.
    const columns = Object.keys(flattenRows(recs[0]!)[0]!);
    const lines = stringifyCsv(flattenRows(recs[2]!).slice(0, 1), { columns });
    await writeFile(path, (await readFile(path, 'utf8')) + lines);
    const done = await writeAll(path, 'csv', recs, 'resume');
    expect([...done]).toEqual([recs[0]!.id, recs[1]!.id]);
    expect(await readBack(path, 'csv')).toEqual(recs.flatMap(flattenRows));
  });

  it('csv: --resume refuses an output with the columns of another version', async () => {
    const path = join(dir, 'old.csv');
    await writeFile(path, 'id,status,label\na,ok,joy\n');
    await expect(openOutput(path, 'csv', 'resume')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  for (const format of ['jsonl', 'csv', 'parquet'] as const) {
    it(`${format}: all three agree; a run cut short resumes without loss or duplicates`, async () => {
      const recs = records(23);
      const full = join(dir, `full.${format}`);
      await writeAll(full, format, recs, 'new');
      const want = recs.flatMap(flattenRows);
      const back = await readBack(full, format);
      expect(back).toEqual(want);
      // A timeline's segments precede their file's row (which closes the record), one row each.
      const parent = recs[2]!.id;
      const at = back.findIndex((r) => r['id'] === parent);
      expect(back[at]).toMatchObject({ parent: null, segment: null, start: null, end: null });
      expect(back[at - 2]).toMatchObject({ id: `${parent}#1`, parent, segment: 1 });
      expect(back[at - 1]).toMatchObject({
        id: `${parent}#2`,
        parent,
        segment: 2,
        start: 4,
        end: 9.75,
        label: 'fear',
        audio_label: 'fear',
        text_label: null,
        valence: null,
        arousal: -0.5,
      });
      await expect(openOutput(full, format, 'new')).rejects.toThrow(/exists/);

      // Cut short: the first 9 records written, then the process "dies" mid-record.
      const cut = join(dir, `cut.${format}`);
      const { writer } = await openOutput(cut, format, 'new');
      await writer.write(recs.slice(0, 9));
      await writer.abort();
      if (format === 'parquet') {
        expect((await stat(`${cut}.journal`)).size).toBeGreaterThan(0);
        await expect(stat(cut)).rejects.toThrow();
        await writeFile(`${cut}.journal`, (await readFile(`${cut}.journal`, 'utf8')) + '{"id":"half');
      } else {
        await writeFile(cut, (await readFile(cut, 'utf8')) + (format === 'csv' ? '"s/half' : '{"id":"half'));
      }
      const done = await writeAll(cut, format, recs, 'resume');
      expect(done.size).toBe(9);
      expect(await readBack(cut, format)).toEqual(want);

      // Resuming a finished Parquet file keeps its rows and appends the new ones.
      if (format === 'parquet') {
        const more = records(30);
        await writeAll(cut, format, more, 'resume');
        expect(await readBack(cut, format)).toEqual(more.flatMap(flattenRows));
      }
      await writeAll(full, format, recs.slice(0, 2), 'force');
      expect(await readBack(full, format)).toEqual(want.slice(0, 2));
    });
  }
});
