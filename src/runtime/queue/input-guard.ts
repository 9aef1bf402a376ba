import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { EmoflowError } from '../../core/errors.js';
import type { RecordError } from '../../pipeline/record.js';

function isWithin(root: string, path: string): boolean {
  const r = relative(root, path);
  return r === '' || (!r.startsWith('..' + sep) && r !== '..' && !isAbsolute(r));
}

/**
 * The folders a queue worker may read job inputs from (`emoflow worker --input-root`). A job
 * names its file as `{path, root}`; whoever can add jobs (a producer, the dashboard) chooses
 * both, so the worker trusts neither: the job's root and the path joined to it must lie inside
 * one of these folders, first as written (so that a path elsewhere is refused without touching
 * the file system: no existence oracle), then with symlinks resolved (the job's root here, the
 * path by the reader, which keeps it inside the job's root). With no folder configured, a
 * worker takes inline inputs (text, base64) only.
 */
export class InputRoots {
  private constructor(private readonly roots: { given: string; real: string }[]) {}

  /** Resolves each folder once; a folder that does not exist is CONFIG_INVALID. */
  static async open(dirs: readonly string[]): Promise<InputRoots> {
    const roots: { given: string; real: string }[] = [];
    for (const d of dirs) {
      const given = resolve(d);
      const real = await realpath(given).catch((e: NodeJS.ErrnoException) => {
        throw new EmoflowError('CONFIG_INVALID', `--input-root ${d}: ${e.code ?? e.message}`);
      });
      roots.push({ given, real });
    }
    return new InputRoots(roots);
  }

  get dirs(): string[] {
    return this.roots.map((r) => r.given);
  }

  /**
   * The job's root, once checked: it and `path` stay inside a configured folder. Throws
   * PATH_OUTSIDE_ROOT otherwise; the message names the job's path, never what is there.
   */
  async check(root: string, path: string): Promise<string> {
    const refuse = (why: string) =>
      new EmoflowError('PATH_OUTSIDE_ROOT', `${path} (root ${root}): ${why}`, { path });
    if (this.roots.length === 0)
      throw refuse(
        'this worker reads no files (only inline text and base64 inputs); start it with --input-root <dir> covering the root',
      );
    if (!isAbsolute(root)) throw refuse('the job root must be an absolute path');
    const target = resolve(root, path);
    const home = this.roots.find(
      (r) =>
        (isWithin(r.given, root) && isWithin(r.given, target)) ||
        (isWithin(r.real, root) && isWithin(r.real, target)),
    );
    if (home === undefined)
      throw refuse(`outside every --input-root of this worker (${this.dirs.join(', ')})`);
    let real: string;
    try {
      real = await realpath(root);
    } catch {
      throw new EmoflowError('FILE_NOT_FOUND', `${path}: the job root ${root} does not exist`, { path });
    }
    if (!this.roots.some((r) => isWithin(r.real, real)))
      throw refuse(`the job root resolves (through a symlink) outside every --input-root of this worker`);
    return root;
  }
}

/**
 * A record error as a queue worker reports it: without bytes of the input quoted in the
 * message. The readers name the bytes they choked on (a WAV file's first four characters, the
 * bytes at a bad UTF-8 offset), which helps a user with their own file but would let anyone who
 * can add a job read other bytes through the error; the offsets and the advice stay.
 */
export function withoutInputBytes(error: RecordError): RecordError {
  const message = error.message
    .replace(/ \(starts with '[^]{4}'\)/g, ' (no RIFF header)')
    .replace(/ \(bytes 0-3 are '[^]*?', bytes 8-11 '[^]*?'\)/g, ' (no RIFF/WAVE header)')
    .replace(/ \(bytes(?: [0-9a-f]{2}){1,4}\)/g, '')
    .replace(/ \(0x[0-9a-f]{2}\)/g, '');
  return message === error.message ? error : { code: error.code, message };
}
