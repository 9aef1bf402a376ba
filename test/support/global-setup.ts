import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { NEEDS_SHARED_PATTERN, hasShared, repoRoot, shared } from './paths.js';

/**
 * Tests of this run that were skipped because a part of `../shared` they name in
 * `(needs ../shared/<what>)` is absent, and the parts missing.
 */
export function skippedForShared(project: TestProject): { count: number; missing: string[] } {
  const missing = new Set<string>();
  let count = 0;
  for (const module of project.vitest.state.getTestModules()) {
    for (const test of module.children.allTests('skipped')) {
      const absent = [...test.fullName.matchAll(NEEDS_SHARED_PATTERN)]
        .map((m) => m[1]!)
        .filter((what) => !existsSync(shared(what)));
      if (absent.length === 0) continue;
      count++;
      for (const what of absent) missing.add(what);
    }
  }
  return { count, missing: [...missing].sort() };
}

/** Tests skipped for what the machine lacks (a GPU adapter, …): their name says `(skipped: <why>)`. */
export function skippedForMachine(project: TestProject): Map<string, number> {
  const why = new Map<string, number>();
  for (const module of project.vitest.state.getTestModules())
    for (const test of module.children.allTests('skipped'))
      for (const m of test.fullName.matchAll(/\(skipped: ([^)]+)\)/g))
        why.set(m[1]!, (why.get(m[1]!) ?? 0) + 1);
  return why;
}

/**
 * CLI tests spawn the built binary as a user would: build it once per test run. At the end of the
 * run, one line counts the tests skipped for lack of `../shared` (a fresh clone has none). It is
 * printed here rather than by a reporter because reporters given on the command line (as `.ci/run`
 * does) replace those of the config; the global setup's teardown runs whatever the reporters.
 */
export default function setup(project: TestProject): () => void {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: 'inherit' });
  return () => {
    for (const [why, n] of skippedForMachine(project))
      console.log(`\n${n === 1 ? '1 test' : `${n} tests`} skipped: ${why}`);
    const { count, missing } = skippedForShared(project);
    if (count === 0) return;
    const tests = count === 1 ? '1 test' : `${count} tests`;
    const why = hasShared
      ? `missing from ../shared: ${missing.join(', ')}`
      : '../shared (corpora and fixtures) is absent';
    console.log(`\n${tests} skipped: ${why}`);
  };
}
