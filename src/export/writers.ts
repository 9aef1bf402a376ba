import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, truncate, type FileHandle } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'csv-stringify/sync';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
import { EmoflowError } from '../core/errors.js';
import { parseCsv, type CsvRow } from '../data/csv.js';
import { writeFailed } from '../io/write-errors.js';
import type { PredictionRecord } from '../pipeline/record.js';
import { FLAT_COLUMNS, flattenRows, roundRecord, type FlatRow } from './flatten.js';

export const FORMATS = ['jsonl', 'csv', 'parquet'] as const;
export type Format = (typeof FORMATS)[number];

/** The format named by `--format`, else by the output's extension (.csv, .parquet), else JSONL. */
export function formatOf(path: string, flag?: string): Format {
  if (flag !== undefined) {
    if (!(FORMATS as readonly string[]).includes(flag))
      throw new EmoflowError('CONFIG_INVALID', `--format: '${flag}' is not one of ${FORMATS.join(', ')}`);
    return flag as Format;
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  return 'jsonl';
}

/**
 * Streams records into an output file; `close` completes it (Parquet is written then). A write
 * that fails (disk full) rejects with OUTPUT_WRITE_FAILED and leaves the file as it was before
 * that write, every earlier record whole, so that `--resume` continues it.
 */
export interface RecordWriter {
  write(records: readonly PredictionRecord[]): Promise<void>;
  close(): Promise<void>;
  /** Stops after a fatal error: what was written stays, for `--resume` (Parquet keeps its journal). */
  abort(): Promise<void>;
}

export type OutputMode = 'new' | 'resume' | 'force';

export interface OpenedOutput {
  writer: RecordWriter;
  /** Ids already in the output (with `resume`): their samples are not processed again. */
  done: Set<string>;
}

/**
 * Opens `path` for a run. An existing output needs `resume` (its ids are read back and new
 * records appended) or `force` (it is replaced); otherwise OUTPUT_EXISTS. A JSONL or CSV
 * output cut short by a crash loses only its unfinished last line, which `resume` removes.
 * Parquet needs a footer, so its records go to a JSONL journal beside it (`<out>.journal`)
 * while the run lasts and become the Parquet file on `close`; `resume` reads both.
 */
export async function openOutput(path: string, format: Format, mode: OutputMode): Promise<OpenedOutput> {
  const journal = `${path}.journal`;
  const exists = await fileExists(path);
  const journalExists = format === 'parquet' && (await fileExists(journal));
  // A device, FIFO or folder is no output: --force would delete it, --resume read it forever.
  for (const p of [path, journal]) {
    const st = await stat(p).catch(() => undefined);
    if (st !== undefined && !st.isFile())
      throw new EmoflowError('CONFIG_INVALID', `--out ${path}: ${p} exists and is not a regular file`, {
        path,
      });
  }
  if ((exists || journalExists) && mode === 'new') {
    throw new EmoflowError(
      'OUTPUT_EXISTS',
      `${exists ? path : journal} exists: add --resume to continue it or --force to replace it`,
      { path },
    );
  }
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (e) {
    throw new EmoflowError(
      'CONFIG_INVALID',
      `--out ${path}: cannot create its folder (${(e as Error).message})`,
      {
        path,
        cause: e,
      },
    );
  }
  if (mode === 'force') {
    await rm(path, { force: true });
    await rm(journal, { force: true });
  }
  const done = new Set<string>();
  if (mode === 'resume') {
    if (format === 'parquet') {
      if (exists) for (const id of await parquetIds(path)) done.add(id);
      if (journalExists) for (const id of await jsonlIds(journal)) done.add(id);
    } else if (exists) {
      for (const id of format === 'jsonl' ? await jsonlIds(path) : await csvIds(path)) done.add(id);
    }
  }
  if (format === 'jsonl') return { done, writer: new JsonlWriter(await Appender.open(path)) };
  if (format === 'csv') {
    // The header goes first into an empty file (a resumed run that had written nothing too).
    const out = await Appender.open(path);
    return { done, writer: new CsvWriter(out, out.empty) };
  }
  return {
    done,
    writer: new ParquetRecordWriter(path, await JsonlWriter.open(journal), mode === 'resume' && exists),
  };
}

async function fileExists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/**
 * Appends text to a file, one whole `append` at a time. A failed write (ENOSPC, EIO) cuts the
 * file back to its size before that append, so that no half record is left, and every later
 * append fails the same way: the run stops instead of waiting for the disk.
 */
class Appender {
  private failed: EmoflowError | undefined;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private size: number,
  ) {}

  static async open(path: string): Promise<Appender> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'a');
    } catch (e) {
      throw writeFailed(path, e, 'nothing was written');
    }
    return new Appender(path, fh, (await fh.stat()).size);
  }

  /** Nothing in the file yet. */
  get empty(): boolean {
    return this.size === 0;
  }

  /** Appends `text`; on failure throws OUTPUT_WRITE_FAILED saying that `kept` stays. */
  async append(text: string, kept: () => string): Promise<void> {
    if (this.failed !== undefined) throw this.failed;
    const buf = Buffer.from(text, 'utf8');
    try {
      // A write may take part of the buffer (the disk filling up); the next one then fails.
      for (let at = 0; at < buf.length;) {
        const { bytesWritten } = await this.fh.write(buf, at, buf.length - at);
        if (bytesWritten <= 0) throw new Error('the file system accepted no bytes');
        at += bytesWritten;
      }
    } catch (e) {
      await this.fh.truncate(this.size).catch(() => undefined);
      this.failed = writeFailed(this.path, e, kept());
      throw this.failed;
    }
    this.size += buf.length;
  }

  async close(kept: () => string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.fh.close();
    } catch (e) {
      throw writeFailed(this.path, e, kept());
    }
  }

  /** Closes without throwing: the run is already stopping for another reason. */
  async abort(): Promise<void> {
    await this.close(() => '').catch(() => undefined);
  }
}

/** What a failed write leaves: the records of this run written before it, and those of earlier runs. */
function keptText(path: string, written: number): () => string {
  return () => `the ${written} records this run wrote before it stay in ${path}`;
}

class JsonlWriter implements RecordWriter {
  private written = 0;
  constructor(private readonly out: Appender) {}
  static async open(path: string): Promise<JsonlWriter> {
    return new JsonlWriter(await Appender.open(path));
  }
  async write(records: readonly PredictionRecord[]): Promise<void> {
    const text = records.map((r) => JSON.stringify(roundRecord(r)) + '\n').join('');
    await this.out.append(text, keptText(this.out.path, this.written));
    this.written += records.length;
  }
  close(): Promise<void> {
    return this.out.close(keptText(this.out.path, this.written));
  }
  abort(): Promise<void> {
    return this.out.abort();
  }
}

const CSV_COLUMNS = FLAT_COLUMNS.map((c) => c.name);

class CsvWriter implements RecordWriter {
  private written = 0;
  constructor(
    private readonly out: Appender,
    private header: boolean,
  ) {}
  async write(records: readonly PredictionRecord[]): Promise<void> {
    const text = stringify(records.flatMap(flattenRows), { header: this.header, columns: CSV_COLUMNS });
    await this.out.append(text, keptText(this.out.path, this.written));
    this.header = false;
    this.written += records.length;
  }
  async close(): Promise<void> {
    const kept = keptText(this.out.path, this.written);
    if (this.header) await this.out.append(stringify([], { header: true, columns: CSV_COLUMNS }), kept);
    await this.out.close(kept);
  }
  abort(): Promise<void> {
    return this.out.abort();
  }
}

/** Rows per Parquet row group; also how many rows are held in memory while converting. */
const ROW_GROUP = 10_000;

class ParquetRecordWriter implements RecordWriter {
  private readonly journalPath: string;
  constructor(
    private readonly path: string,
    private readonly journal: JsonlWriter,
    private readonly keepExisting: boolean,
  ) {
    this.journalPath = `${path}.journal`;
  }
  write(records: readonly PredictionRecord[]): Promise<void> {
    return this.journal.write(records);
  }
  abort(): Promise<void> {
    return this.journal.abort();
  }
  async close(): Promise<void> {
    await this.journal.close();
    const tmp = `${this.path}.part`;
    try {
      await this.convert(tmp);
    } catch (e) {
      // The journal (and an earlier Parquet file) stay whole: --resume converts them again.
      await rm(tmp, { force: true });
      throw writeFailed(
        tmp,
        e,
        `the records stay in ${this.journalPath}${this.keepExisting ? ` and ${this.path}` : ''}`,
      );
    }
    await rm(this.journalPath, { force: true });
  }

  /** Writes the existing Parquet rows and the journal's records into `tmp`, then moves it into place. */
  private async convert(tmp: string): Promise<void> {
    const writer = new ParquetWriter({ writer: fileWriter(tmp), schema: parquetSchema() });
    const flush = (rows: FlatRow[]) => {
      if (rows.length === 0) return;
      writer.write({ columnData: columnsOf(rows), rowGroupSize: rows.length });
    };
    if (this.keepExisting) {
      const file = await asyncBufferFromFile(this.path);
      const meta = await parquetMetadataAsync(file);
      const total = Number(meta.num_rows);
      for (let start = 0; start < total; start += ROW_GROUP) {
        const rows = (await parquetReadObjects({
          file,
          metadata: meta,
          // A file of an earlier version lacks the timeline columns: they are read as empty.
          columns: CSV_COLUMNS.filter((c) => meta.schema.some((f) => f.name === c)),
          rowStart: start,
          rowEnd: Math.min(total, start + ROW_GROUP),
        })) as FlatRow[];
        flush(rows);
      }
    }
    let rows: FlatRow[] = [];
    for await (const line of lines(this.journalPath)) {
      rows.push(...flattenRows(JSON.parse(line) as PredictionRecord));
      if (rows.length >= ROW_GROUP) {
        flush(rows);
        rows = [];
      }
    }
    flush(rows);
    writer.finish();
    await rename(tmp, this.path);
  }
}

function parquetSchema() {
  return [
    { name: 'root', num_children: FLAT_COLUMNS.length },
    ...FLAT_COLUMNS.map((c) =>
      c.type === 'double'
        ? { name: c.name, type: 'DOUBLE' as const, repetition_type: 'OPTIONAL' as const }
        : {
            name: c.name,
            type: 'BYTE_ARRAY' as const,
            converted_type: 'UTF8' as const,
            logical_type: { type: 'STRING' as const },
            repetition_type:
              c.name === 'id' || c.name === 'status' ? ('REQUIRED' as const) : ('OPTIONAL' as const),
          },
    ),
  ];
}

function columnsOf(rows: readonly FlatRow[]) {
  return FLAT_COLUMNS.map((c) => ({ name: c.name, data: rows.map((r) => r[c.name] ?? null) }));
}

/** The lines of a text file, streamed. */
async function* lines(path: string): AsyncGenerator<string> {
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const line of rl) if (line.trim() !== '') yield line;
}

/**
 * Ids of a JSONL output. A last line without its newline (a run killed mid-write) is cut off
 * the file so that appending starts on a clean line; a bad line elsewhere means the file is
 * not an emoflow output, and resuming it is refused.
 */
async function jsonlIds(path: string): Promise<string[]> {
  await dropUnfinishedLine(path);
  const ids: string[] = [];
  let n = 0;
  for await (const line of lines(path)) {
    n++;
    try {
      const id = (JSON.parse(line) as { id?: unknown }).id;
      if (typeof id !== 'string') throw new Error('no id');
      ids.push(id);
    } catch {
      throw new EmoflowError('CONFIG_INVALID', `--resume: ${path} line ${n} is not an output record`, {
        path,
      });
    }
  }
  return ids;
}

async function csvIds(path: string): Promise<string[]> {
  await dropUnfinishedLine(path);
  const bytes = await readFile(path);
  const rows = parseCsv(bytes.toString('utf8'), path);
  const header = rows[0]?.fields;
  if (header === undefined) return [];
  if (header[0] !== 'id')
    throw new EmoflowError('CONFIG_INVALID', `--resume: ${path} does not start with an 'id' column`, {
      path,
    });
  if (header.join(',') !== CSV_COLUMNS.join(','))
    throw new EmoflowError(
      'CONFIG_INVALID',
      `--resume: ${path} has the columns of another emoflow version (${header.length}, this one writes ${CSV_COLUMNS.length}: ${CSV_COLUMNS.join(', ')}); write a new output or use --force`,
      { path },
    );
  // Segment rows (a `parent` given) precede their record's row, which closes the record: rows
  // after the last record's row belong to a record cut short, and go.
  const parent = CSV_COLUMNS.indexOf('parent');
  const isSegment = (r: CsvRow) => (r.fields[parent] ?? '') !== '';
  let last = rows.length - 1;
  while (last > 0 && isSegment(rows[last]!)) last--;
  if (last < rows.length - 1) await truncate(path, lineOffset(bytes, rows[last + 1]!.line));
  return rows
    .slice(1, last + 1)
    .filter((r) => !isSegment(r))
    .map((r) => r.fields[0]!);
}

/** The byte offset where 1-based line `line` starts. */
function lineOffset(bytes: Uint8Array, line: number): number {
  let at = 0;
  for (let n = 1; n < line; n++) at = bytes.indexOf(0x0a, at) + 1;
  return at;
}

async function parquetIds(path: string): Promise<string[]> {
  try {
    const file = await asyncBufferFromFile(path);
    const metadata = await parquetMetadataAsync(file);
    const segmented = metadata.schema.some((c) => c.name === 'parent');
    const rows = (await parquetReadObjects({
      file,
      metadata,
      columns: segmented ? ['id', 'parent'] : ['id'],
    })) as { id: string; parent?: string | null }[];
    // Segment rows (a `parent` given) belong to their file's record, which is what resumes.
    return rows.filter((r) => r.parent == null).map((r) => r.id);
  } catch (e) {
    throw new EmoflowError(
      'CONFIG_INVALID',
      `--resume: cannot read ${path} as Parquet (${(e as Error).message})`,
      {
        path,
        cause: e,
      },
    );
  }
}

/** Cuts a text file back to its last newline (a run killed mid-write leaves half a line). */
async function dropUnfinishedLine(path: string): Promise<void> {
  const size = (await stat(path)).size;
  let keep = 0;
  const fh = await open(path, 'r');
  try {
    const chunk = 64 * 1024;
    const buf = Buffer.alloc(chunk);
    for (let end = size; end > 0;) {
      const start = Math.max(0, end - chunk);
      const { bytesRead } = await fh.read(buf, 0, end - start, start);
      const at = buf.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (at >= 0) {
        keep = start + at + 1;
        break;
      }
      end = start;
    }
  } finally {
    await fh.close();
  }
  if (keep !== size) await truncate(path, keep);
}
