import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { EmoflowError } from '../core/errors.js';
import type { Sample } from '../core/sample.js';
import { parseCsv } from './csv.js';

type Cell = string | number | boolean | null;

const RESERVED = new Set(['id', 'text', 'text_path', 'image', 'audio', 'group', 'order', 'speaker']);

/**
 * The generic `manifest` adapter (docs/ingest.md): CSV with a header row, or JSON Lines; columns
 * `id, text | text_path, image, audio, group, order, speaker` and any label columns. Paths are
 * relative to the manifest's folder, which is every sample's root.
 */
export async function readManifestSamples(path: string): Promise<Sample[]> {
  const full = resolve(path);
  let text: string;
  try {
    text = await readFile(full, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new EmoflowError(
      code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE',
      `${path}: ${(e as Error).message}`,
      {
        path,
        cause: e,
      },
    );
  }
  const ext = extname(full).toLowerCase();
  const rows = ext === '.jsonl' || ext === '.ndjson' ? jsonlRows(text, path) : csvRows(text, path);
  const root = dirname(full);
  const seen = new Map<string, number>();
  return rows.map(({ line, record }) => {
    const sample = toSample(record, root, path, line);
    const first = seen.get(sample.id);
    if (first !== undefined) invalid(path, line, `id '${sample.id}' repeats the id of line ${first}`);
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
  if (header === undefined) invalid(path, 1, 'the manifest is empty (a header row is required)');
  const names = header.fields.map((h) => h.trim());
  if (!names.includes('id'))
    invalid(path, header.line, `the header has no 'id' column (columns: ${names.join(', ')})`);
  return rows.slice(1).map((row) => {
    if (row.fields.length !== names.length) {
      invalid(path, row.line, `${row.fields.length} fields where the header has ${names.length}`);
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
      throw new EmoflowError(
        'MANIFEST_INVALID',
        `${path}: line ${i + 1}, column ${column}: ${(e as Error).message}`,
        { path },
      );
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      invalid(path, i + 1, 'each line must be a JSON object');
    const record: Record<string, Cell> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v !== null && typeof v === 'object')
        invalid(path, i + 1, `column '${k}' holds an object or array; use a string or number`);
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
      invalid(path, line, `column '${key}' must be a string`);
    return String(v);
  };
  const id = str('id');
  if (id === undefined || id.trim() === '') invalid(path, line, "the 'id' column is empty");
  const sample: Sample = { id, root, labels: {} };
  const text = record['text'];
  const textPath = str('text_path');
  if (text !== null && text !== undefined && textPath !== undefined) {
    invalid(path, line, "both 'text' and 'text_path' are set; give one");
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
    if (!Number.isInteger(n)) invalid(path, line, `'order' must be an integer, got '${order}'`);
    sample.order = n;
  }
  for (const [k, v] of Object.entries(record)) if (!RESERVED.has(k)) sample.labels[k] = v;
  return sample;
}

function invalid(path: string, line: number, what: string): never {
  throw new EmoflowError('MANIFEST_INVALID', `${path}: line ${line}: ${what}`, { path });
}
