import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The folder holding emoflow's package.json. Code runs from `src/` (tests, tsx) or from
 * `dist/src/` (the built CLI), so the depth differs: walk up instead of counting.
 */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const parsed = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown };
      if (parsed.name === 'emoflow') return (cached = dir);
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('emoflow: cannot find the package root above ' + import.meta.url);
    dir = up;
  }
}

/** The committed model folder: `<package root>/models`. */
export function defaultModelsDir(): string {
  return join(packageRoot(), 'models');
}
