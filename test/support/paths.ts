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

/** Small test fixtures committed in the repository (test/fixtures; provenance in its README). */
export function fixture(...parts: string[]): string {
  return join(repoRoot, 'test', 'fixtures', ...parts);
}

/**
 * The words that mark a test or suite as needing a part of `../shared`: its name ends with
 * `(needs ../shared/<what>)`. A fresh clone has no `../shared`; such tests skip there, and the
 * global setup's teardown prints how many did (see global-setup.ts).
 */
export const NEEDS_SHARED = 'needs ../shared/';

/** Finds the `<what>` of every `(needs ../shared/<what>)` in a test's full name. */
export const NEEDS_SHARED_PATTERN = /\(needs \.\.\/shared\/([^)\s]+)\)/g;

export interface SharedNeed {
  /** The absolute path of `../shared/<what>`. */
  path: string;
  /** True when it is absent: the tests that need it skip (`describe.skipIf(need.missing)`). */
  missing: boolean;
  /** `(needs ../shared/<what>)`, to end the name of the suite or test that skips without it. */
  tag: string;
}

/**
 * A part of `../shared` that some tests need, e.g. `sharedNeed('data/speech/emodb')`:
 *
 * ```ts
 * const EMODB = sharedNeed('data/speech/emodb');
 * describe.skipIf(EMODB.missing)(`readEmoDb ${EMODB.tag}`, () => { … EMODB.path … });
 * ```
 *
 * Nothing under `<what>` may be read while the test file is collected unless `missing` is false
 * (collection runs even for a skipped suite's body).
 */
export function sharedNeed(what: string): SharedNeed {
  const path = shared(what);
  return { path, missing: !existsSync(path), tag: `(${NEEDS_SHARED}${what})` };
}

/** Several needs at once: missing when any is, tagged with each. */
export function sharedNeeds(...what: string[]): SharedNeed & { paths: string[] } {
  const needs = what.map(sharedNeed);
  return {
    path: needs[0]?.path ?? sharedDir,
    paths: needs.map((n) => n.path),
    missing: needs.some((n) => n.missing),
    tag: needs.map((n) => n.tag).join(' '),
  };
}

/**
 * A model mirror folder for `emoflow models fetch --from`: `../shared/models` where it is present,
 * else the committed `models/` folder, which has the same layout (model files, `licenses/`).
 */
export const modelMirror = existsSync(shared('models')) ? shared('models') : join(repoRoot, 'models');
