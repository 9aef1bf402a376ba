import { dirname, extname, resolve } from 'node:path';
import { EmoflowError } from '../../core/errors.js';
import { EMOTIONS } from '../../core/labels.js';
import type { Sample } from '../../core/sample.js';
import type { TaskSpec } from '../../core/tasks.js';
import { AROUSAL_TASK, EMOTION_TASK, VALENCE_TASK, type Corpus, type CorpusSample } from '../corpus.js';
import { parseCsv } from '../csv.js';
import { corpus, invalid, invalidAt, invalidLine, oneHot, readCorpusText } from './common.js';

/**
 * The generic `manifest` adapter (docs/ingest.md): `readManifestSamples` reads a manifest's samples
 * (what `ingest` takes), `readManifestCorpus` makes the corpus, with tasks from its label columns.
 */

type Cell = string | number | boolean | null;

const RESERVED = new Set(['id', 'text', 'text_path', 'image', 'audio', 'group', 'order', 'speaker']);

/**
 * The generic `manifest` adapter (docs/ingest.md): CSV with a header row, or JSON Lines; columns
 * `id, text | text_path, image, audio, group, order, speaker` and any label columns. Paths are
 * relative to the manifest's folder, which is every sample's root.
 */
export async function readManifestSamples(path: string): Promise<Sample[]> {
  const full = resolve(path);
  const text = await readCorpusText(full, path);
  const ext = extname(full).toLowerCase();
  const rows = ext === '.jsonl' || ext === '.ndjson' ? jsonlRows(text, path) : csvRows(text, path);
  const root = dirname(full);
  const seen = new Map<string, number>();
  return rows.map(({ line, record }) => {
    const sample = toSample(record, root, path, line);
    const first = seen.get(sample.id);
    if (first !== undefined) invalidLine(path, line, `id '${sample.id}' repeats the id of line ${first}`);
    seen.set(sample.id, line);
    return sample;
  });
}

interface RawRow {
  line: number;
  record: Record<string, Cell>;
}

function csvRows(text: string, path: string): RawRow[] {
  const rows = parseCsv(text, path);
  const header = rows[0];
  if (header === undefined) invalidLine(path, 1, 'the manifest is empty (a header row is required)');
  const names = header.fields.map((h) => h.trim());
  if (!names.includes('id'))
    invalidLine(path, header.line, `the header has no 'id' column (columns: ${names.join(', ')})`);
  return rows.slice(1).map((row) => {
    if (row.fields.length !== names.length) {
      invalidLine(path, row.line, `${row.fields.length} fields where the header has ${names.length}`);
    }
    const record: Record<string, Cell> = {};
    names.forEach((name, i) => {
      const v = row.fields[i]!;
      record[name] = v === '' ? null : v;
    });
    return { line: row.line, record };
  });
}

function jsonlRows(text: string, path: string): RawRow[] {
  const out: RawRow[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      const pos = /position (\d+)/.exec((e as Error).message);
      const column = pos ? Number(pos[1]) + 1 : 1;
      invalidAt(path, i + 1, column, (e as Error).message);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      invalidLine(path, i + 1, 'each line must be a JSON object');
    const record: Record<string, Cell> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v !== null && typeof v === 'object')
        invalidLine(path, i + 1, `column '${k}' holds an object or array; use a string or number`);
      record[k] = v as Cell;
    }
    out.push({ line: i + 1, record });
  });
  return out;
}

function toSample(record: Record<string, Cell>, root: string, path: string, line: number): Sample {
  const str = (key: string): string | undefined => {
    const v = record[key];
    if (v === null || v === undefined) return undefined;
    if (typeof v !== 'string' && typeof v !== 'number')
      invalidLine(path, line, `column '${key}' must be a string`);
    return String(v);
  };
  const id = str('id');
  if (id === undefined || id.trim() === '') invalidLine(path, line, "the 'id' column is empty");
  const sample: Sample = { id, root, labels: {} };
  const text = record['text'];
  const textPath = str('text_path');
  if (text !== null && text !== undefined && textPath !== undefined) {
    invalidLine(path, line, "both 'text' and 'text_path' are set; give one");
  }
  if (text !== null && text !== undefined) sample.text = String(text);
  if (textPath !== undefined) sample.textPath = textPath;
  const image = str('image');
  if (image !== undefined) sample.image = image;
  const audio = str('audio');
  if (audio !== undefined) sample.audio = audio;
  const group = str('group');
  if (group !== undefined) sample.group = group;
  const speaker = str('speaker');
  if (speaker !== undefined) sample.speaker = speaker;
  const order = str('order');
  if (order !== undefined) {
    const n = Number(order);
    if (!Number.isInteger(n)) invalidLine(path, line, `'order' must be an integer, got '${order}'`);
    sample.order = n;
  }
  for (const [k, v] of Object.entries(record)) if (!RESERVED.has(k)) sample.labels[k] = v;
  return sample;
}

const KNOWN: Record<string, TaskSpec> = {
  emotion: EMOTION_TASK,
  valence: VALENCE_TASK,
  arousal: AROUSAL_TASK,
};

/**
 * The generic manifest as a corpus. Label columns become tasks: `emotion` (one of the seven
 * shared labels), `valence` and `arousal` (numbers in [-1, 1]); any other column is a user task:
 * text values make a classification task over its distinct values (sorted), numbers a regression
 * over the range they span. An empty cell leaves that sample without the task (partial labels).
 */
export async function readManifestCorpus(path: string, split: string | undefined): Promise<Corpus> {
  if (split !== undefined)
    throw new EmoflowError('CONFIG_INVALID', `the manifest adapter has no splits (got #${split})`);
  const samples = await readManifestSamples(path);
  const columns = [...new Set(samples.flatMap((s) => Object.keys(s.labels)))].sort();
  const tasks: TaskSpec[] = [];
  const out: CorpusSample[] = samples.map((s) => ({ ...s, targets: {} }));
  for (const col of columns) {
    const values = samples
      .map((s) => s.labels[col])
      .filter((v): v is string | number => v !== null && v !== undefined && v !== '');
    if (values.length === 0) continue;
    const numeric = values.every(
      (v) =>
        typeof v === 'number' || (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))),
    );
    let spec = KNOWN[col];
    if (spec === undefined) {
      if (numeric) {
        const nums = values.map(Number);
        const lo = Math.min(...nums);
        const hi = Math.max(...nums);
        spec = { name: col, type: 'regression', range: [lo, hi > lo ? hi : lo + 1], loss: 'mse', weight: 1 };
      } else {
        spec = {
          name: col,
          type: 'classification',
          labels: [...new Set(values.map(String))].sort(),
          weight: 1,
          labelSmoothing: 0,
          classWeights: 'none',
        };
        if (spec.labels.length < 2) continue;
      }
    }
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(col)) continue; // not a usable task name: stays a plain label
    tasks.push(spec);
    out.forEach((s) => {
      const v = s.labels[col];
      if (v === null || v === undefined || v === '') return;
      if (spec.type === 'regression') {
        const x = Number(v);
        if (!Number.isFinite(x))
          invalid(path, `sample '${s.id}': column '${col}' must be a number, got '${String(v)}'`);
        s.targets[col] = x;
      } else if (spec.type === 'classification') {
        const k = spec.labels.indexOf(String(v));
        if (k < 0) {
          const allowed = col === 'emotion' ? EMOTIONS.join(', ') : spec.labels.join(', ');
          invalid(path, `sample '${s.id}': '${String(v)}' is not a ${col} label (${allowed})`);
        }
        s.targets[col] = oneHot(spec.labels.length, k);
      }
    });
  }
  return corpus('manifest', path, out, tasks, {
    corpus: 'manifest',
    path,
    licence: 'as its owner states',
  });
}
