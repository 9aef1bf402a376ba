import { readdir, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import type { Modality } from '../core/labels.js';
import type { Sample } from '../core/sample.js';
import { decodeFileName, fsPath } from '../io/file-names.js';

/** File extensions of each modality in a batch folder (docs/ingest.md). */
export const FOLDER_EXTENSIONS: Record<Modality, readonly string[]> = {
  text: ['.txt'],
  image: ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.bmp'],
  audio: ['.wav'],
};

function modalityOf(ext: string): Modality | undefined {
  for (const m of ['text', 'image', 'audio'] as const) if (FOLDER_EXTENSIONS[m].includes(ext)) return m;
  return undefined;
}

/** A file of the folder that is no sample's input, and why. */
export interface SkippedFile {
  path: string;
  reason: string;
}

export interface FolderWalk {
  /** Samples in a stable order: each folder's samples by id, then its subfolders by name. */
  samples: AsyncGenerator<Sample>;
  /** Files that are no input, named (filled as the walk goes; at most `maxSkippedNames`). */
  skipped: SkippedFile[];
  /** How many files were skipped (all of them, named or not) and hidden entries passed over. */
  counts: { skipped: number; hidden: number };
}

/**
 * Walks a batch folder as docs/ingest.md says: files in one directory sharing a stem form one
 * sample whose id is the path relative to the root without extension. Other files are
 * `skipped` with a reason; hidden entries (a leading dot) are passed over. Only one folder's
 * listing is held at a time, so memory does not grow with the size of the tree. Symlinked
 * files are taken as inputs (reading them checks that they stay inside the root); symlinked
 * folders are not followed (no cycles, no leaving the root) and are named in `skipped`. A FIFO,
 * socket or device with an input's extension is a sample too, whose reading refuses it with
 * INPUT_NOT_REGULAR (never opening it). Names that are not valid UTF-8 keep their bytes
 * (file-names.ts), so that such a file is read like any other.
 */
export function walkFolder(root: string, options: { maxSkippedNames?: number } = {}): FolderWalk {
  const skipped: SkippedFile[] = [];
  const counts = { skipped: 0, hidden: 0 };
  const max = options.maxSkippedNames ?? 10_000;
  const skip = (path: string, reason: string) => {
    counts.skipped++;
    if (skipped.length < max) skipped.push({ path, reason });
  };
  async function* walk(dir: string): AsyncGenerator<Sample> {
    const entries = (await readdir(fsPath(dir), { withFileTypes: true, encoding: 'buffer' })).map((e) => ({
      entry: e,
      name: decodeFileName(e.name),
    }));
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const groups = new Map<string, Sample>();
    const subdirs: string[] = [];
    for (const { entry: e, name: entryName } of entries) {
      const full = join(dir, entryName);
      const rel = relative(root, full).split(sep).join('/');
      if (entryName.startsWith('.')) {
        counts.hidden++;
        continue;
      }
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const target = await stat(fsPath(full)).catch(() => undefined);
        if (target?.isDirectory()) {
          skip(rel, 'symlinked folder (not followed)');
          continue;
        }
        // A file link, or a broken one: an input whose reading reports what is wrong with it.
        isFile = true;
        isDir = false;
      }
      if (isDir) {
        subdirs.push(full);
        continue;
      }
      const ext = extname(entryName).toLowerCase();
      // A FIFO, socket or device: an input only under an input's extension (refused when read).
      if (!isFile && modalityOf(ext) === undefined) {
        skip(rel, 'not a regular file');
        continue;
      }
      const m = modalityOf(ext);
      if (m === undefined) {
        skip(rel, ext === '' ? 'no extension' : `unknown extension ${ext}`);
        continue;
      }
      const id = rel.slice(0, rel.length - ext.length);
      let s = groups.get(id);
      if (s === undefined) {
        s = { id, root, labels: {} };
        groups.set(id, s);
      }
      const name = rel;
      if (m === 'text') {
        if (s.textPath !== undefined) skip(name, `a second text for sample ${id} (${s.textPath} is used)`);
        else s.textPath = name;
      } else if (m === 'image') {
        if (s.image !== undefined) skip(name, `a second image for sample ${id} (${s.image} is used)`);
        else s.image = name;
      } else if (s.audio !== undefined) skip(name, `a second audio for sample ${id} (${s.audio} is used)`);
      else s.audio = name;
    }
    for (const s of [...groups.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) yield s;
    groups.clear();
    for (const d of subdirs) yield* walk(d);
  }
  return { samples: walk(root), skipped, counts };
}
