import { constants, type Stats } from 'node:fs';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { EmoflowError } from '../core/errors.js';
import { decodeFileName, fsPath } from './file-names.js';

/**
 * Resolves `rel` against `root`, symlinks included, and checks that it stays inside the
 * root (docs/ingest.md). Absolute paths are allowed only when they resolve inside the root.
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
    real = await realpathKeepingBytes(joined);
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
  const real = realpathKeepingBytes(root);
  if (roots.size > 64) roots.clear();
  roots.set(root, { real, at: now });
  real.catch(() => roots.delete(root));
  return real;
}

/** `realpath` of a path whose name may hold raw bytes (file-names.ts), decoded the same way. */
async function realpathKeepingBytes(path: string): Promise<string> {
  return decodeFileName(await realpath(fsPath(path), { encoding: 'buffer' }));
}

/** What a path names when it is not a regular file, in words; undefined for a regular file. */
function specialKind(st: Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

function notRegular(shown: string, kind: string): EmoflowError {
  return new EmoflowError(
    'INPUT_NOT_REGULAR',
    `${shown}: is ${kind}, not a regular file; it was not opened (name a file instead)`,
    { path: shown },
  );
}

export function readError(e: unknown, shown: string): EmoflowError {
  if (e instanceof EmoflowError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR')
    return new EmoflowError('FILE_NOT_FOUND', `${shown}: no such file`, { path: shown, cause: e });
  return new EmoflowError('FILE_UNREADABLE', `${shown}: ${(e as Error).message}`, { path: shown, cause: e });
}

/** An input file's first bytes, and the file's whole size. */
export interface InputBytes {
  bytes: Uint8Array;
  /** The file's size in bytes; larger than `bytes.length` when the read was capped. */
  size: number;
}

/**
 * Opens an input file for reading. The path is `stat`ed first and anything but a regular file (a
 * FIFO, socket, device or folder) is refused with INPUT_NOT_REGULAR without being opened: a FIFO
 * would block the read forever. The file is then opened non-blocking and checked again, so that
 * one swapped in between cannot block either. FILE_NOT_FOUND / FILE_UNREADABLE name it otherwise.
 */
export async function openInput(
  path: string,
  shown: string = path,
): Promise<{ fh: FileHandle; size: number }> {
  const p = fsPath(path);
  try {
    const kind = specialKind(await stat(p));
    if (kind !== undefined) throw notRegular(shown, kind);
    const fh = await open(p, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const st = await fh.stat();
      const again = specialKind(st);
      if (again !== undefined) throw notRegular(shown, again);
      return { fh, size: st.size };
    } catch (e) {
      await fh.close();
      throw e;
    }
  } catch (e) {
    throw readError(e, shown);
  }
}

/** Reads at most `maxBytes` of an input file, opened as `openInput` opens it. */
export async function readInputCapped(
  path: string,
  shown: string = path,
  maxBytes: number = Number.POSITIVE_INFINITY,
  /** When given, a file over `maxBytes` is refused with this error before any byte is read. */
  tooLarge?: (size: number) => EmoflowError,
): Promise<InputBytes> {
  const { fh, size } = await openInput(path, shown);
  try {
    if (tooLarge !== undefined && size > maxBytes) throw tooLarge(size);
    const want = Math.min(size, maxBytes);
    const buf = Buffer.allocUnsafeSlow(want); // its own memory, never the shared pool
    let got = 0;
    while (got < want) {
      const { bytesRead } = await fh.read(buf, got, want - got, got);
      if (bytesRead === 0) break; // the file shrank while it was read
      got += bytesRead;
    }
    return { bytes: new Uint8Array(buf.buffer, buf.byteOffset, got), size };
  } catch (e) {
    throw readError(e, shown);
  } finally {
    await fh.close();
  }
}

/** Reads a whole input file (regular files only, as `readInputCapped`). */
export async function readInput(path: string, shown: string = path): Promise<Uint8Array> {
  return (await readInputCapped(path, shown)).bytes;
}

function isWithin(root: string, path: string): boolean {
  const r = relative(root, path);
  return r === '' || (!r.startsWith('..' + sep) && r !== '..' && !isAbsolute(r));
}
