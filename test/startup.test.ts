import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { emoflow } from './support/cli.js';
import { repoRoot } from './support/paths.js';

/**
 * Commands are imported on use (src/cli/command-index.ts): `--version`, `--help`, a command's own
 * `--help` and `mfcc` must not load the heavy packages. Checked with a module-resolution hook that
 * makes importing any of them fail the process, not with timings (those are `bench startup`).
 */
const HEAVY = [
  'onnxruntime-node',
  'sharp',
  '@huggingface/transformers',
  'bullmq',
  'ioredis',
  'zod',
  'express',
];
const dir = mkdtempSync(join(tmpdir(), 'emoflow-startup-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hooks = join(dir, 'hooks.mjs');
writeFileSync(
  hooks,
  `const heavy = ${JSON.stringify(HEAVY)};
export async function resolve(specifier, context, next) {
  if (heavy.includes(specifier)) throw new Error('heavy package imported at start-up: ' + specifier);
  return next(specifier, context);
}
`,
);
const register = join(dir, 'register.mjs');
writeFileSync(
  register,
  `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
);

function light(args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(
    process.execPath,
    ['--import', register, join(repoRoot, 'dist', 'src', 'cli', 'main.js'), ...args],
    {
      encoding: 'utf8',
    },
  );
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('start-up loads only what the command needs', () => {
  it('--version, --help, mfcc --help and mfcc on a clip run with the heavy packages unimportable', () => {
    for (const args of [
      ['--version'],
      ['--help'],
      ['mfcc', '--help'],
      ['mfcc', join(repoRoot, 'examples', 'calls', '0001.wav')],
    ]) {
      const r = light(args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
  });

  it('the hook does catch a command that needs them (ingest --help loads onnxruntime)', () => {
    const r = light(['ingest', '--help']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/heavy package imported at start-up/);
  });

  it('bench startup --json reports medians and ratios to node -e 0', async () => {
    const run = await emoflow(['bench', 'startup', '--runs', '1', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const r = run.json<{ seconds: Record<string, number>; ratio: Record<string, number>; runs: number }>();
    expect(Object.keys(r.seconds).sort()).toEqual(['help', 'mfcc', 'node', 'version']);
    for (const k of ['version', 'help', 'mfcc'])
      expect(r.ratio[k]).toBeCloseTo(r.seconds[k]! / r.seconds['node']!, 9);
    expect(r.runs).toBe(1);
  }, 60_000);
});

describe('npx emoflow', () => {
  it('prints the version and no npm warning (the .npmrc key onnxruntime-node-install stays, silenced)', () => {
    const run = spawnSync('npx', ['--no-install', 'emoflow', '--version'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(run.stderr).not.toMatch(/npm warn/i);
  });
});
