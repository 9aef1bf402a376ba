import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export interface TimedRun {
  /** The exit code; null when the process was killed (by the deadline or a signal). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The deadline passed and the process was killed: a hang, reported as a failure. */
  timedOut: boolean;
}

export interface StartedCli {
  child: ChildProcessWithoutNullStreams;
  done: Promise<TimedRun>;
}

/**
 * Starts the built `emoflow` binary with a deadline: past `timeoutMs` it is killed (SIGKILL)
 * and `timedOut` is set, so that a hang fails the test instead of stalling the suite and
 * leaving a process behind.
 */
export function startEmoflow(
  args: readonly string[],
  options: { timeoutMs: number; cwd?: string },
): StartedCli {
  const child = spawn(process.execPath, [join(repoRoot, 'dist', 'src', 'cli', 'main.js'), ...args], {
    cwd: options.cwd ?? repoRoot,
    env: process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs);
  const done = new Promise<TimedRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    });
  });
  return { child, done };
}

/** Runs the built `emoflow` binary to the end, or kills it at `timeoutMs` (see startEmoflow). */
export function emoflowWithin(
  args: readonly string[],
  options: { timeoutMs: number; cwd?: string },
): Promise<TimedRun> {
  return startEmoflow(args, options).done;
}
