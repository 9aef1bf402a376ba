import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../core/package-root.js';

/** An `emoflow worker` running as a node process of its own. */
export interface WorkerProcess {
  child: ChildProcess;
  /** Everything it has written to stderr so far. */
  stderr: () => string;
}

/** `taskset` (Linux util-linux), to hold a process to one core; undefined elsewhere. */
export function tasksetPath(): string | undefined {
  for (const p of ['/usr/bin/taskset', '/bin/taskset']) if (existsSync(p)) return p;
  return undefined;
}

/**
 * Starts `emoflow worker <args>` as a node process of its own (so SIGKILL kills the worker
 * itself, not a wrapper) and resolves once it says it is ready; rejects if it exits first or
 * is not ready in `readyTimeoutMs`. With `core` (and taskset present) it runs on that core
 * only, every thread of it included. Benchmarks, scripts and tests start workers with it.
 */
export function startWorkerProcess(
  args: readonly string[],
  options: { core?: number; readyTimeoutMs?: number } = {},
): Promise<WorkerProcess> {
  const argv = [join(packageRoot(), 'dist', 'src', 'cli', 'main.js'), 'worker', ...args];
  const taskset = options.core === undefined ? undefined : tasksetPath();
  const child =
    taskset === undefined
      ? spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(taskset, ['-c', String(options.core), process.execPath, ...argv], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
  let err = '';
  return new Promise((resolve, reject) => {
    const limit = options.readyTimeoutMs ?? 60_000;
    const timer = setTimeout(
      () => reject(new Error(`worker not ready after ${limit / 1000} s:\n${err}`)),
      limit,
    );
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString('utf8');
      if (err.includes('worker ready')) {
        clearTimeout(timer);
        resolve({ child, stderr: () => err });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}:\n${err}`));
    });
  });
}

/** Stops a worker process (SIGTERM drains) and waits for it to exit; resolves its exit code. */
export function stopWorkerProcess(
  w: WorkerProcess,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<number | null> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return Promise.resolve(w.child.exitCode);
  return new Promise((resolve) => {
    w.child.once('exit', (code) => resolve(code));
    w.child.kill(signal);
  });
}
