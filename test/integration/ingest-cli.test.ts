import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { parse as parseCsv } from 'csv-parse/sync';
import { readParquet } from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMOTIONS, MODALITIES } from '../../src/core/labels.js';
import type { PredictionRecord } from '../../src/pipeline/record.js';
import { readRecords } from '../support/records.js';
import { emoflow } from '../support/cli.js';
import { makeOddFolder, type OddFolder } from '../support/odd-inputs.js';

let dir: string;
let odd: OddFolder;

/** The flat columns a record must have in CSV and Parquet (docs/ingest.md). */
function flatOf(r: PredictionRecord): Record<string, string | number | null> {
  const row: Record<string, string | number | null> = { id: r.id, status: r.status, label: r.label };
  for (const e of EMOTIONS) row[e] = r.scores?.[e] ?? null;
  row['valence'] = r.valence;
  row['arousal'] = r.arousal;
  for (const m of MODALITIES) {
    const x = r.modalities[m];
    row[`${m}_label`] = x?.status === 'ok' ? x.label : null;
  }
  for (const m of MODALITIES) {
    const x = r.modalities[m];
    row[`${m}_error`] = x?.status === 'error' ? x.error.code : null;
  }
  // A run without --segments: the timeline columns are empty on every row.
  Object.assign(row, { parent: null, segment: null, start: null, end: null });
  return row;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emoflow-ingest-'));
  odd = await makeOddFolder(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('emoflow ingest on a folder of good, odd and broken files', () => {
  let records: PredictionRecord[];
  let summary: Record<string, unknown>;

  beforeAll(async () => {
    const run = await emoflow(['ingest', odd.root, '--out', join(dir, 'out.jsonl'), '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    summary = run.json();
    records = await readRecords(join(dir, 'out.jsonl'));
  }, 120_000);

  it('writes exactly one record per sample, each with the status and codes of docs/errors.md', () => {
    expect(records.map((r) => r.id).sort()).toEqual(Object.keys(odd.expected).sort());
    for (const r of records) {
      const want = odd.expected[r.id]!;
      const got: Record<string, string> = {};
      for (const m of MODALITIES) {
        const x = r.modalities[m];
        if (x !== undefined) got[m] = x.status === 'ok' ? 'ok' : x.error.code;
      }
      expect({ id: r.id, status: r.status, modalities: got }).toEqual({
        id: r.id,
        status: want.status,
        modalities: want.modalities,
      });
      for (const w of want.warnings ?? []) expect(r.warnings.map((x) => x.code)).toContain(w);
      if (want.face !== undefined) {
        const image = r.modalities.image;
        expect(image?.status === 'ok' && image.face?.source).toBe(want.face);
      }
    }
  });

  it('gives failed records null predictions and their first error, and ok records a distribution', () => {
    for (const r of records) {
      if (r.status === 'failed') {
        expect([r.label, r.scores, r.valence, r.arousal]).toEqual([null, null, null, null]);
        const first = MODALITIES.map((m) => r.modalities[m]).find((x) => x?.status === 'error');
        expect(r.error).toEqual(first?.status === 'error' ? first.error : undefined);
      } else {
        const sum = EMOTIONS.reduce((a, e) => a + r.scores![e], 0);
        expect(sum).toBeCloseTo(1, 3);
        const best = EMOTIONS.reduce((b, e) => (r.scores![e] > r.scores![b] ? e : b));
        expect(r.label).toBe(best);
        const contributions = MODALITIES.map((m) => r.modalities[m])
          .filter((x) => x?.status === 'ok')
          .map((x) => (x?.status === 'ok' ? x.contribution : 0));
        expect(contributions.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
      }
    }
  });

  it('keeps the partial sample’s working modalities identical to the same inputs alone', async () => {
    // The text and speech of mixed/call are scored with only that modality present, so they
    // must equal a run on those files alone (the broken image changes nothing).
    const alone = join(dir, 'alone');
    const run = await emoflow([
      'ingest',
      join(odd.root, 'mixed'),
      '--out',
      join(alone, 'x.jsonl'),
      '--concurrency',
      '0',
    ]);
    expect(run.code).toBe(0);
    const [call] = await readRecords(join(alone, 'x.jsonl'));
    const partial = records.find((r) => r.id === 'mixed/call')!;
    expect(call!.modalities.text).toEqual(partial.modalities.text);
    expect(call!.modalities.audio).toEqual(partial.modalities.audio);
  }, 60_000);

  it('names the skipped files in the summary and counts the records', () => {
    expect(summary['skippedFiles']).toEqual(
      odd.skipped.map((p) => ({ path: p, reason: expect.any(String) })),
    );
    const counts = { ok: 0, partial: 0, failed: 0 };
    for (const r of records) counts[r.status]++;
    expect(summary['records']).toEqual(counts);
    expect(summary['written']).toBe(records.length);
  });

  it('writes the same run as CSV and Parquet, read back by independent readers', async () => {
    for (const format of ['csv', 'parquet'] as const) {
      const out = join(dir, `out.${format}`);
      const run = await emoflow(['ingest', odd.root, '--out', out, '--no-progress']);
      expect(run.code).toBe(0);
      let rows: Record<string, unknown>[];
      if (format === 'csv') {
        rows = (parseCsv(await readFile(out), { columns: true }) as Record<string, string>[]).map((row) =>
          Object.fromEntries(
            Object.entries(row).map(([k, v]) => [
              k,
              v === ''
                ? null
                : (EMOTIONS as readonly string[]).includes(k) || k === 'valence' || k === 'arousal'
                  ? Number(v)
                  : v,
            ]),
          ),
        );
      } else {
        const table = tableFromIPC(readParquet(new Uint8Array(await readFile(out))).intoIPCStream());
        expect(table.schema.fields.find((f) => f.name === 'joy')?.type.toString()).toBe('Float64');
        expect(table.schema.fields.find((f) => f.name === 'id')?.nullable).toBe(false);
        rows = table.toArray().map((r) => (r as { toJSON(): Record<string, unknown> }).toJSON());
      }
      expect(rows.map((r) => r['id'])).toEqual(records.map((r) => r.id));
      expect(rows).toEqual(records.map(flatOf));
    }
  }, 120_000);

  it('refuses to overwrite an output, and --resume finishes a run cut short without duplicates', async () => {
    const out = join(dir, 'out.jsonl');
    const again = await emoflow(['ingest', odd.root, '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toContain('OUTPUT_EXISTS');

    const cut = join(dir, 'cut.jsonl');
    const lines = (await readFile(out, 'utf8')).split('\n');
    await writeFile(cut, lines.slice(0, 5).join('\n') + '\n' + lines[5]!.slice(0, 40));
    const resumed = await emoflow(['ingest', odd.root, '--out', cut, '--resume', '--json']);
    expect(resumed.code).toBe(0);
    expect(resumed.json()['resumed']).toBe(5);
    const back = await readRecords(cut);
    expect(back.map((r) => r.id).sort()).toEqual(records.map((r) => r.id).sort());
    expect(back).toEqual(expect.arrayContaining(records));
  }, 120_000);
});

describe('emoflow ingest on manifests', () => {
  it('fails a path that leaves the root, and a row with nothing to read, without stopping the run', async () => {
    const manifest = join(odd.root, 'manifest.csv');
    await writeFile(
      manifest,
      [
        'id,text,text_path,image,audio',
        'inline,"What a lovely surprise, thank you!",,,',
        'outside,,../outside.txt,,',
        'nothing,,,,',
        'both,,text/emoji.txt,image/portrait.jpg,',
      ].join('\n') + '\n',
    );
    const run = await emoflow([
      'ingest',
      manifest,
      '--out',
      join(dir, 'manifest.jsonl'),
      '--concurrency',
      '1',
    ]);
    expect(run.code).toBe(0);
    const byId = new Map((await readRecords(join(dir, 'manifest.jsonl'))).map((r) => [r.id, r]));
    expect(byId.get('inline')?.status).toBe('ok');
    expect(byId.get('outside')?.status).toBe('failed');
    expect(byId.get('outside')?.error?.code).toBe('PATH_OUTSIDE_ROOT');
    expect(byId.get('nothing')?.error?.code).toBe('NO_MODALITY');
    expect(byId.get('both')?.status).toBe('ok');
    expect(byId.get('both')?.inputs).toEqual({ text: 'text/emoji.txt', image: 'image/portrait.jpg' });
  }, 60_000);

  it('stops on a malformed manifest line with MANIFEST_INVALID naming the line', async () => {
    const manifest = join(odd.root, 'broken.jsonl');
    await writeFile(manifest, '{"id":"a","text":"fine"}\n{"id":"b","text":"oops"\n');
    const run = await emoflow(['ingest', manifest, '--out', join(dir, 'broken.jsonl')]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/MANIFEST_INVALID: .*broken\.jsonl.* line 2/);
  });
});

describe('emoflow ingest --device cuda on a machine without CUDA', () => {
  it('gives the CPU labels with exactly one DEVICE_FALLBACK warning', async () => {
    const cpu = await emoflow(['ingest', 'examples', '--out', join(dir, 'cpu.jsonl')]);
    const cuda = await emoflow(['ingest', 'examples', '--out', join(dir, 'cuda.jsonl'), '--device', 'cuda']);
    expect(cpu.code).toBe(0);
    expect(cuda.code).toBe(0);
    expect(cuda.stderr.match(/DEVICE_FALLBACK/g)).toHaveLength(1);
    const a = await readRecords(join(dir, 'cpu.jsonl'));
    const b = await readRecords(join(dir, 'cuda.jsonl'));
    expect(b.map((r) => [r.id, r.label])).toEqual(a.map((r) => [r.id, r.label]));
  }, 120_000);
});
