import { createHash } from 'node:crypto';
import {
  link,
  mkdir,
  open,
  readFile,
  rm,
  stat,
  truncate,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
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
 * mid-write) is cut off, so that a killed run loses at most its last entry.
 *
 * One writer per folder at a time: the first write takes `writer.lock` (the writer's pid, made
 * atomically by a hard link), and a second process that needs to write waits for it (`onWait` is
 * told once), then reloads what the first one appended before it appends its own. A lock whose
 * process is gone is stale and taken over. Readers need no lock: an open cache serves what was on
 * disk when it opened.
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
  /** Bytes of index.jsonl loaded: with `rows`, what a writer checks for another's appends. */
  private indexBytes = 0;
  private locked = false;
  /** Folders whose lock this process holds (a second cache object of the same folder waits too). */
  private static readonly held = new Set<string>();

  private constructor(
    dir: string,
    spec: FeatureSpec,
    vectors: Float32Array,
    rows: number,
    private readonly onWait: ((message: string) => void) | undefined,
  ) {
    this.dir = dir;
    this.spec = spec;
    this.vectors = vectors;
    this.rows = rows;
  }

  static folderName(spec: FeatureSpec): string {
    return `${spec.name}@${spec.version}`;
  }

  static async open(
    root: string,
    spec: FeatureSpec,
    options: { onWait?: (message: string) => void } = {},
  ): Promise<FeatureCache> {
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
    const cache = new FeatureCache(dir, spec, new Float32Array(0), 0, options.onWait);
    // A torn tail is cut off now when no other process is writing (else at this cache's first write).
    const free = await cache.tryLock();
    try {
      await cache.load(free);
    } finally {
      if (free) await cache.unlock();
    }
    return cache;
  }

  /**
   * Reads vectors.f32 and index.jsonl. A torn tail (a crash mid-write) is ignored, and cut off
   * when `repair` (only under the writer lock: another process may be mid-append).
   */
  private async load(repair: boolean): Promise<void> {
    const vecPath = join(this.dir, 'vectors.f32');
    const rowBytes = this.spec.dim * 4;
    const size = await fileSize(vecPath);
    const rows = Math.floor(size / rowBytes);
    if (repair && size !== rows * rowBytes) await truncate(vecPath, rows * rowBytes);
    let vectors = new Float32Array(0);
    if (rows > 0) {
      const buf = await readFile(vecPath);
      vectors = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + rows * rowBytes));
    }
    this.vectors = vectors;
    this.rows = rows;
    this.pending.length = 0;
    this.entries.clear();
    await this.loadIndex(join(this.dir, 'index.jsonl'), repair);
  }

  private async loadIndex(path: string, repair: boolean): Promise<void> {
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch {
      this.indexBytes = 0;
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
    if (repair && keptBytes !== Buffer.byteLength(text)) await truncate(path, keptBytes);
    this.indexBytes = keptBytes;
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
    if (this.vectorsFile !== undefined && this.indexFile !== undefined) return;
    await this.lock();
    // Another writer may have appended since this cache was read: read it again, whole.
    const rowBytes = this.spec.dim * 4;
    const vecSize = await fileSize(join(this.dir, 'vectors.f32'));
    const indexSize = await fileSize(join(this.dir, 'index.jsonl'));
    if (vecSize !== this.rows * rowBytes || indexSize !== this.indexBytes) await this.load(true);
    this.vectorsFile ??= await open(join(this.dir, 'vectors.f32'), 'a');
    this.indexFile ??= await open(join(this.dir, 'index.jsonl'), 'a');
  }

  /** Takes `writer.lock`, waiting while a live process (or another cache object here) holds it. */
  private async lock(): Promise<void> {
    let told = false;
    while (!(await this.tryLock())) {
      if (!told && !FeatureCache.held.has(this.dir)) {
        const holder = (await readFile(join(this.dir, 'writer.lock'), 'utf8').catch(() => '')).trim();
        this.onWait?.(
          `${this.dir}: process ${holder} is writing to this feature cache; waiting for it to finish`,
        );
        told = true;
      }
      await sleep(200);
    }
  }

  /** One attempt at `writer.lock`; a lock whose process is gone is removed first. */
  private async tryLock(): Promise<boolean> {
    if (this.locked) return true;
    if (FeatureCache.held.has(this.dir)) return false;
    const path = join(this.dir, 'writer.lock');
    const mine = `${path}.${process.pid}`;
    for (;;) {
      await writeFile(mine, `${process.pid}\n`);
      try {
        await link(mine, path); // atomic: fails if the lock exists
        FeatureCache.held.add(this.dir);
        this.locked = true;
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      } finally {
        await rm(mine, { force: true });
      }
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text === undefined) continue; // released meanwhile: try again
      const holder = Number(text.trim());
      // Left by a process that is gone (or by this one, which holds no lock here): stale.
      if (holder !== process.pid && alive(holder)) return false;
      await rm(path, { force: true });
    }
  }

  private async unlock(): Promise<void> {
    if (!this.locked) return;
    await rm(join(this.dir, 'writer.lock'), { force: true });
    FeatureCache.held.delete(this.dir);
    this.locked = false;
  }

  async close(): Promise<void> {
    await this.vectorsFile?.close();
    await this.indexFile?.close();
    this.vectorsFile = undefined;
    this.indexFile = undefined;
    await this.unlock();
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** Whether a process with this pid runs (EPERM: it runs as another user). */
function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
