import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { EmoflowError } from '../core/errors.js';

/**
 * Resolves `rel` against `root`, symlinks included, and checks that it stays inside the
 * root (DESIGN.md §3). Absolute paths are allowed only when they resolve inside the root.
 * Throws PATH_OUTSIDE_ROOT, FILE_NOT_FOUND or FILE_UNREADABLE.
 */
export async function resolveInside(root: string, rel: string): Promise<string> {
  const realRoot = await realRootOf(root);
  const joined = isAbsolute(rel) ? rel : resolve(realRoot, rel);
  // Check the literal path first: '../x' must fail as outside even when it does not exist.
  if (!isWithin(realRoot, resolve(joined))) {
    throw new EmoflowError('PATH_OUTSIDE_ROOT', `${rel}: the path leaves the input root ${realRoot}`, {
      path: rel,
    });
  }
  let real: string;
  try {
    real = await realpath(joined);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new EmoflowError('FILE_NOT_FOUND', `${rel}: no such file under ${realRoot}`, {
        path: rel,
        cause: e,
      });
    }
    throw new EmoflowError('FILE_UNREADABLE', `${rel}: ${(e as Error).message}`, { path: rel, cause: e });
  }
  if (!isWithin(realRoot, real)) {
    throw new EmoflowError(
      'PATH_OUTSIDE_ROOT',
      `${rel}: resolves (through a symlink) to ${real}, outside the input root ${realRoot}`,
      {
        path: rel,
      },
    );
  }
  return real;
}

/**
 * Input roots resolved, remembered for a few seconds: a run reads thousands of files under one
 * root, and resolving it once per file doubled the file-system round trips of a read.
 */
const roots = new Map<string, { real: Promise<string>; at: number }>();
const ROOT_TTL_MS = 5000;

function realRootOf(root: string): Promise<string> {
  const now = Date.now();
  const hit = roots.get(root);
  if (hit !== undefined && now - hit.at < ROOT_TTL_MS) return hit.real;
  const real = realpath(root);
  if (roots.size > 64) roots.clear();
  roots.set(root, { real, at: now });
  real.catch(() => roots.delete(root));
  return real;
}

/** Reads a whole input file; FILE_NOT_FOUND / FILE_UNREADABLE name it. */
export async function readInput(path: string, shown: string = path): Promise<Uint8Array> {
  try {
    const buf = await readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new EmoflowError('FILE_NOT_FOUND', `${shown}: no such file`, { path: shown, cause: e });
    throw new EmoflowError('FILE_UNREADABLE', `${shown}: ${(e as Error).message}`, { path: shown, cause: e });
  }
}

function isWithin(root: string, path: string): boolean {
  const r = relative(root, path);
  return r === '' || (!r.startsWith('..' + sep) && r !== '..' && !isAbsolute(r));
}
