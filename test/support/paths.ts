import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** `../shared` beside the clone: corpora, fixtures and model references, read in place. */
export const sharedDir = join(repoRoot, '..', 'shared');

export function shared(...parts: string[]): string {
  return join(sharedDir, ...parts);
}

export const hasShared = existsSync(sharedDir);
