import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { EmoflowError } from '../core/errors.js';
import { defaultModelsDir } from '../core/package-root.js';
import { readManifest, type ModelEntry, type ModelFile, type ModelManifest } from './manifest.js';

export type FileState = 'ok' | 'missing' | 'checksum';

export interface FileCheck {
  model: string;
  path: string;
  state: FileState;
  expected: string;
  actual?: string;
}

export interface FetchResult {
  model: string;
  path: string;
  action: 'present' | 'copied' | 'downloaded';
  source?: string;
}

export async function sha256File(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

export interface ModelStoreOptions {
  /**
   * Models whose files another thread of this process has just checked (the extraction
   * threads' parent): they are not hashed again.
   */
  verified?: readonly string[];
}

/**
 * The offline model store: `models/manifest.json` plus the files beside it. Every model
 * path handed to a session goes through `path()` / `folder()`, which check the file's
 * sha256 once per process and say which command fixes a missing or wrong file. A native
 * session never sees a file that failed the check: onnxruntime and transformers.js report a
 * corrupt model badly, or not at all.
 */
export class ModelStore {
  readonly dir: string;
  readonly manifest: ModelManifest;
  private readonly verified = new Map<string, Promise<void>>();

  constructor(dir: string = defaultModelsDir(), options: ModelStoreOptions = {}) {
    this.dir = dir;
    this.manifest = readManifest(dir);
    for (const name of options.verified ?? []) this.verified.set(name, Promise.resolve());
  }

  /**
   * Checks every file of the named models (MODEL_NOT_FOUND / MODEL_CHECKSUM with the command
   * that fixes it); each model once per store.
   */
  async verify(names: readonly string[]): Promise<void> {
    for (const name of names) await this.ensureVerified(this.entry(name));
  }

  /** The manifest's model whose folder is `dir` (a text model named by its path), if any. */
  modelInFolder(dir: string): ModelEntry | undefined {
    const want = resolve(dir);
    return this.manifest.models.find((m) => m.folder !== undefined && resolve(this.dir, m.folder) === want);
  }

  entry(name: string): ModelEntry {
    const m = this.manifest.models.find((x) => x.name === name);
    if (m === undefined) {
      const known = this.manifest.models.map((x) => x.name).join(', ');
      throw new EmoflowError('MODEL_NOT_FOUND', `no model named '${name}' in ${join(this.dir, 'manifest.json')} (known: ${known})`);
    }
    return m;
  }

  /** Absolute path of the model's main file (its first file), verified. */
  async path(name: string): Promise<string> {
    const m = this.entry(name);
    await this.ensureVerified(m);
    return join(this.dir, m.files[0]!.path);
  }

  /** Absolute path of a transformers.js model folder, verified. */
  async folder(name: string): Promise<string> {
    const m = this.entry(name);
    if (m.folder === undefined) throw new EmoflowError('MODEL_NOT_FOUND', `model '${name}' is not a model folder`);
    await this.ensureVerified(m);
    return join(this.dir, m.folder);
  }

  private ensureVerified(m: ModelEntry): Promise<void> {
    let p = this.verified.get(m.name);
    if (p === undefined) {
      p = this.verifyOrThrow(m);
      this.verified.set(m.name, p);
      p.catch(() => this.verified.delete(m.name));
    }
    return p;
  }

  private async verifyOrThrow(m: ModelEntry): Promise<void> {
    for (const check of await this.verifyModel(m)) {
      const full = join(this.dir, check.path);
      if (check.state === 'missing') {
        throw new EmoflowError(
          'MODEL_NOT_FOUND',
          `model file ${full} (model '${m.name}') is missing; run: emoflow models fetch${m.name ? ' ' + m.name : ''} [--from <mirror folder>]`,
          { path: full },
        );
      }
      if (check.state === 'checksum') {
        throw new EmoflowError(
          'MODEL_CHECKSUM',
          `model file ${full} (model '${m.name}') has sha256 ${check.actual}, expected ${check.expected}; run: emoflow models fetch ${m.name} [--from <mirror folder>]`,
          { path: full },
        );
      }
    }
  }

  async verifyModel(m: ModelEntry): Promise<FileCheck[]> {
    const out: FileCheck[] = [];
    for (const f of m.files) out.push(await this.checkFile(m.name, f));
    return out;
  }

  async verifyAll(names?: string[]): Promise<FileCheck[]> {
    const out: FileCheck[] = [];
    for (const m of this.select(names)) out.push(...(await this.verifyModel(m)));
    return out;
  }

  select(names?: string[]): ModelEntry[] {
    if (names === undefined || names.length === 0) return this.manifest.models;
    return names.map((n) => this.entry(n));
  }

  private async checkFile(model: string, f: ModelFile): Promise<FileCheck> {
    const full = join(this.dir, f.path);
    try {
      const st = await stat(full);
      if (!st.isFile()) return { model, path: f.path, state: 'missing', expected: f.sha256 };
    } catch {
      return { model, path: f.path, state: 'missing', expected: f.sha256 };
    }
    const actual = await sha256File(full);
    return actual === f.sha256
      ? { model, path: f.path, state: 'ok', expected: f.sha256, actual }
      : { model, path: f.path, state: 'checksum', expected: f.sha256, actual };
  }

  /**
   * Brings missing or wrong files: from `from` (a mirror folder laid out like models/) when
   * given, else from the file's upstream URL where one gives exactly these bytes. Every file
   * is checked against its sha256 before it replaces anything.
   */
  async fetch(
    names: string[] | undefined,
    options: { from?: string; download?: (url: string) => Promise<Uint8Array> } = {},
  ): Promise<FetchResult[]> {
    const results: FetchResult[] = [];
    for (const m of this.select(names)) {
      for (const f of m.files) {
        const check = await this.checkFile(m.name, f);
        if (check.state === 'ok') {
          results.push({ model: m.name, path: f.path, action: 'present' });
          continue;
        }
        const target = join(this.dir, f.path);
        const tmp = `${target}.part-${process.pid}`;
        await mkdir(dirname(target), { recursive: true });
        if (options.from !== undefined) {
          const source = join(options.from, f.path);
          try {
            await copyFile(source, tmp);
          } catch (e) {
            throw new EmoflowError('MODEL_NOT_FOUND', `cannot copy ${source} for model '${m.name}': ${(e as Error).message}`, {
              path: source,
              cause: e,
            });
          }
          await this.acceptOrThrow(tmp, target, f, m.name, source);
          results.push({ model: m.name, path: f.path, action: 'copied', source });
        } else if (f.url !== undefined) {
          const download = options.download ?? httpDownload;
          let bytes: Uint8Array;
          try {
            bytes = await download(f.url);
          } catch (e) {
            throw new EmoflowError('MODEL_NOT_FOUND', `cannot download ${f.url} for model '${m.name}': ${(e as Error).message}; use --from <mirror folder>`, {
              path: target,
              cause: e,
            });
          }
          await writeFile(tmp, bytes);
          await this.acceptOrThrow(tmp, target, f, m.name, f.url);
          results.push({ model: m.name, path: f.path, action: 'downloaded', source: f.url });
        } else {
          throw new EmoflowError(
            'MODEL_NOT_FOUND',
            `model file ${target} (model '${m.name}') has no download URL that gives these exact bytes (it is a converted model); restore it from git (git checkout -- models/) or run: emoflow models fetch ${m.name} --from <mirror folder>`,
            { path: target },
          );
        }
      }
    }
    return results;
  }

  private async acceptOrThrow(tmp: string, target: string, f: ModelFile, model: string, source: string): Promise<void> {
    const actual = await sha256File(tmp);
    if (actual !== f.sha256) {
      await rmQuiet(tmp);
      throw new EmoflowError('MODEL_CHECKSUM', `${source} (model '${model}') has sha256 ${actual}, expected ${f.sha256}; it was not installed`, {
        path: source,
      });
    }
    await rename(tmp, target);
    this.verified.delete(model);
  }
}

async function rmQuiet(path: string): Promise<void> {
  await rm(path, { force: true });
}

async function httpDownload(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}
