import { createHash } from 'node:crypto';
import { mkdir, open, readFile, stat, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EmoflowError, type ErrorCode } from '../core/errors.js';
import type { FeatureSpec } from '../features/feature-spec.js';

export type CachedFeature =
  | { status: 'ok'; vector: Float32Array; meta: Record<string, unknown> }
  | { status: 'error'; error: { code: ErrorCode; message: string } };

/**
 * The name (before `.jsonl`) of a corpus's sample index, `<cache>/index/<name>.jsonl`, which
 * extraction rewrites on every run: the corpus name made file-safe (`manifest-clips.csv`,
 * `meld-dev_sent_emo.csv-dev`), then the first 12 hex digits of the sha256 of the corpus's resolved
 * path. Two manifests with the same file name in different folders therefore get separate indexes.
 *
 * Keyed by where the corpus is rather than by its bytes: a manifest's paths are relative to its
 * folder, so the same manifest text in two folders names different inputs, and a manifest edited in
 * place keeps its one index (rewritten) instead of leaving one behind per version. Indexes written
 * under the old name (without the hash) are never read again; their vectors stay valid, since those
 * are keyed by content.
 */
export function sampleIndexName(corpus: { name: string; source: { path: string } }): string {
  const where = createHash('sha256').update(resolve(corpus.source.path)).digest('hex').slice(0, 12);
  return `${corpus.name.replace(/[^A-Za-z0-9._-]+/g, '-')}-${where}`;
}

interface IndexLine {
  sha256: string;
  row?: number;
  meta?: Record<string, unknown>;
  error?: { code: ErrorCode; message: string };
}

/**
 * Extracted features on disk, keyed by (content sha256, extractor name, version) (docs/features.md).
 * One folder per extractor spec, `<name>@<version>/`, holding `spec.json`, `vectors.f32`
 * (float32 rows of `dim`, little-endian) and `index.jsonl` (one line per input: its sha256 and
 * row, or the input error it gave: errors are a function of the bytes, so they are cached too).
 * Appends only: a vector is written before its index line, and on open a torn tail (a crash
 * mid-write) is cut off, so that a killed run loses at most its last entry. One writer per folder.
 */
export class FeatureCache {
  readonly spec: FeatureSpec;
  readonly dir: string;
  private readonly entries = new Map<string, IndexLine>();
  private vectors: Float32Array;
  private rows: number;
  private readonly pending: Float32Array[] = [];
  private vectorsFile: FileHandle | undefined;
  private indexFile: FileHandle | undefined;

  private constructor(dir: string, spec: FeatureSpec, vectors: Float32Array, rows: number) {
    this.dir = dir;
    this.spec = spec;
    this.vectors = vectors;
    this.rows = rows;
  }

  static folderName(spec: FeatureSpec): string {
    return `${spec.name}@${spec.version}`;
  }

  static async open(root: string, spec: FeatureSpec): Promise<FeatureCache> {
    const dir = join(root, FeatureCache.folderName(spec));
    await mkdir(dir, { recursive: true });
    const specPath = join(dir, 'spec.json');
    try {
      const onDisk = JSON.parse(await readFile(specPath, 'utf8')) as FeatureSpec;
      if (onDisk.dim !== spec.dim) {
        throw new EmoflowError(
          'CONFIG_INVALID',
          `feature cache ${dir} holds ${onDisk.dim}-d vectors but extractor ${spec.name}@${spec.version} gives ${spec.dim}-d; remove the folder`,
          { path: dir },
        );
      }
    } catch (e) {
      if (e instanceof EmoflowError) throw e;
      await writeFile(specPath, JSON.stringify(spec) + '\n');
    }
    const vecPath = join(dir, 'vectors.f32');
    const rowBytes = spec.dim * 4;
    let size = 0;
    try {
      size = (await stat(vecPath)).size;
    } catch {
      size = 0;
    }
    const rows = Math.floor(size / rowBytes);
    if (size !== rows * rowBytes) await truncate(vecPath, rows * rowBytes);
    let vectors = new Float32Array(0);
    if (rows > 0) {
      const buf = await readFile(vecPath);
      vectors = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + rows * rowBytes));
    }
    const cache = new FeatureCache(dir, spec, vectors, rows);
    await cache.loadIndex(join(dir, 'index.jsonl'));
    return cache;
  }

  private async loadIndex(path: string): Promise<void> {
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return;
    }
    const lines = text.split('\n');
    // Only newline-terminated lines are whole; a torn last line is dropped and rewritten.
    const complete = lines.slice(0, -1);
    let keptBytes = 0;
    for (const raw of complete) {
      keptBytes += Buffer.byteLength(raw) + 1;
      if (raw.trim() === '') continue;
      const line = JSON.parse(raw) as IndexLine;
      if (line.row !== undefined && line.row >= this.rows) continue; // its vector never reached the disk
      this.entries.set(line.sha256, line);
    }
    if (keptBytes !== Buffer.byteLength(text)) await truncate(path, keptBytes);
  }

  get size(): number {
    return this.entries.size;
  }

  has(sha256: string): boolean {
    return this.entries.has(sha256);
  }

  get(sha256: string): CachedFeature | undefined {
    const e = this.entries.get(sha256);
    if (e === undefined) return undefined;
    if (e.error !== undefined) return { status: 'error', error: e.error };
    return { status: 'ok', vector: this.row(e.row!), meta: e.meta ?? {} };
  }

  private row(r: number): Float32Array {
    const dim = this.spec.dim;
    const loaded = this.vectors.length / dim;
    if (r < loaded) return this.vectors.slice(r * dim, (r + 1) * dim);
    return this.pending[r - loaded]!.slice();
  }

  async put(sha256: string, value: CachedFeature): Promise<void> {
    if (this.entries.has(sha256)) return;
    await this.ensureOpen();
    let line: IndexLine;
    if (value.status === 'ok') {
      if (value.vector.length !== this.spec.dim) {
        throw new Error(
          `feature cache ${this.dir}: vector of length ${value.vector.length}, expected ${this.spec.dim}`,
        );
      }
      const copy = Float32Array.from(value.vector);
      await this.vectorsFile!.write(new Uint8Array(copy.buffer));
      this.pending.push(copy);
      line = { sha256, row: this.rows++, meta: value.meta };
    } else {
      line = { sha256, error: value.error };
    }
    await this.indexFile!.write(JSON.stringify(line) + '\n');
    this.entries.set(sha256, line);
  }

  private async ensureOpen(): Promise<void> {
    this.vectorsFile ??= await open(join(this.dir, 'vectors.f32'), 'a');
    this.indexFile ??= await open(join(this.dir, 'index.jsonl'), 'a');
  }

  async close(): Promise<void> {
    await this.vectorsFile?.close();
    await this.indexFile?.close();
    this.vectorsFile = undefined;
    this.indexFile = undefined;
  }
}
