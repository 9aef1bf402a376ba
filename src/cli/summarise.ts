import { readFile, writeFile } from 'node:fs/promises';
import { stringify } from 'csv-stringify/sync';
import { EmoflowError } from '../core/errors.js';
import {
  renderSummary,
  summarise,
  summaryColumns,
  summaryCsvRow,
  type KeyOf,
  type SummaryKey,
} from '../export/summary.js';
import { predictionRecordSchema, type PredictionRecord } from '../pipeline/record.js';
import { openInput } from '../runtime/embedded/input-source.js';
import { defineCommand, printJson } from './command.js';
import { SUMMARIES } from './command-summaries.js';

const KEYS = ['file', 'speaker', 'group'] as const satisfies readonly SummaryKey[];

/** Reads a JSONL output of ingest or export; a line that is no record is MANIFEST_INVALID with its number. */
async function readRecords(path: string): Promise<PredictionRecord[]> {
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new EmoflowError(
      e.code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE',
      `${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`,
      { path },
    );
  });
  const out: PredictionRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = undefined;
    }
    const r = predictionRecordSchema.safeParse(parsed);
    if (!r.success)
      throw new EmoflowError(
        'MANIFEST_INVALID',
        `${path}: line ${i + 1} is not an output record (a JSONL file written by ingest or export)`,
        { path },
      );
    out.push(r.data);
  });
  return out;
}

/** Each record's key: its id, or the speaker / group its sample has in `input`. */
async function keyOf(by: SummaryKey, input: string | undefined): Promise<KeyOf> {
  if (by === 'file') return (r) => r.id;
  if (input === undefined)
    throw new EmoflowError(
      'CONFIG_INVALID',
      `--by ${by} needs --input: the folder, manifest or corpus spec the records were made from (records do not carry speakers or groups)`,
    );
  const source = await openInput(input);
  const keys = new Map<string, string | undefined>();
  for await (const s of source.samples) keys.set(s.id, by === 'speaker' ? s.speaker : s.group);
  return (r) => keys.get(r.id) || undefined;
}

export const summariseCommand = defineCommand({
  spec: {
    name: 'summarise',
    summary: SUMMARIES['summarise'],
    positionals: [{ name: 'records', description: 'a JSONL output of ingest or export' }],
    flags: {
      by: {
        type: 'string',
        description: 'one row per file, speaker or group',
        choices: KEYS,
        default: 'file',
      },
      input: {
        type: 'string',
        value: 'folder|manifest|spec',
        description:
          'the input the records came from, for --by speaker|group (its speaker and group columns)',
      },
      csv: { type: 'string', value: 'file', description: 'also write the rows as CSV' },
      html: {
        type: 'string',
        value: 'file',
        description: 'also write an HTML page: the rows, and a timeline per segmented file',
      },
      json: { type: 'boolean', description: 'print {"by","rows"} as one JSON line instead of a table' },
    },
    examples: [
      'emoflow ingest examples/calls --segments --out calls.jsonl && emoflow summarise calls.jsonl --html calls.html',
      'emoflow summarise results.jsonl --by speaker --input manifest.csv --csv speakers.csv',
    ],
  },
  async run({ flags, positionals }, io) {
    const path = positionals[0]!;
    const by = flags.by as SummaryKey;
    const records = await readRecords(path);
    const rows = summarise(records, await keyOf(by, flags.input));
    if (flags.csv !== undefined)
      await writeFile(
        flags.csv,
        stringify(rows.map(summaryCsvRow), { header: true, columns: summaryColumns() }),
      );
    if (flags.html !== undefined)
      await writeFile(flags.html, renderSummary({ title: `emoflow summary of ${path}`, by, rows, records }));
    if (flags.json) {
      printJson(io, { by, rows });
      return 0;
    }
    io.out(`${records.length} records of ${path}, by ${by}:\n`);
    for (const r of rows) {
      const top = Object.entries(r.timeShares ?? r.labelShares)
        .filter(([, v]) => v > 0)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([e, v]) => `${e} ${(100 * v).toFixed(0)}%`)
        .join(', ');
      io.out(
        `  ${r.key === '' ? '(none)' : r.key}: ${r.records} records (${r.ok} ok, ${r.partial} partial, ${r.failed} failed)` +
          `${top === '' ? '' : `; ${r.timeShares === null ? 'labels' : 'time'}: ${top}`}\n`,
      );
    }
    return 0;
  },
});
