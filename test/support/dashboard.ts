import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

/** Dashboard settings the environment may carry; a test's process starts without them. */
const DASHBOARD_ENV = [
  'EMOFLOW_DASHBOARD_AUTH',
  'EMOFLOW_METRICS_TOKEN',
  'EMOFLOW_DASHBOARD_ALLOWED_HOSTS',
  'EMOFLOW_REDIS_URL',
];

/**
 * Runs the built `emoflow dashboard` in its own process, with `env` set over an environment
 * cleared of the dashboard's own variables; its output is collected as it comes.
 */
export function dashboardProcess(
  args: readonly string[],
  env: Record<string, string> = {},
): { child: ChildProcess; exit: Promise<number | null>; out: () => string; err: () => string } {
  const clean = { ...process.env };
  for (const k of DASHBOARD_ENV) delete clean[k];
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'dist', 'src', 'cli', 'main.js'), 'dashboard', ...args],
    {
      cwd: repoRoot,
      env: { ...clean, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, exit, out: () => stdout, err: () => stderr };
}

/** The value of one Prometheus sample whose labels include `labels`, or undefined. */
export function metricSample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}
