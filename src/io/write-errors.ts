import { EmoflowError } from '../core/errors.js';

/**
 * A failed write to an output (disk full `ENOSPC`, `EIO`, a quota, a read-only file system) as
 * the fatal OUTPUT_WRITE_FAILED, naming the file, the system's reason and what to do next.
 * `kept` says what stays of the output, `next` how to go on from it.
 */
export function writeFailed(
  path: string,
  e: unknown,
  kept: string,
  next = 'run the same command with --resume to continue',
): EmoflowError {
  if (e instanceof EmoflowError) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const reason = e instanceof Error ? e.message : String(e);
  const room = code === 'ENOSPC' || code === 'EDQUOT' ? 'free some space, then ' : '';
  return new EmoflowError(
    'OUTPUT_WRITE_FAILED',
    `writing ${path} failed (${reason}); ${kept}; ${room}${next}`,
    { path, cause: e },
  );
}
