import { execFileSync } from 'node:child_process';
import { repoRoot } from './paths.js';

/** CLI tests spawn the built binary as a user would: build it once per test run. */
export default function setup(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: 'inherit' });
}
