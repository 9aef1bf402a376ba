import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/paths.js';

/** The layer rule of `npm run lint` (scripts/lint/layers.js) on code placed in src/ folders. */
async function layerErrors(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: repoRoot });
  const [result] = await eslint.lintText(code, { filePath: join(repoRoot, file) });
  return result!.messages.filter((m) => m.ruleId === 'emoflow/layers').map((m) => m.message);
}

describe('one-way layers, enforced by npm run lint', () => {
  it('fails an upward import (data -> head, core -> cli) and a sideways one (features -> eval)', async () => {
    const up = await layerErrors(
      'src/data/probe.ts',
      "import { Graph } from '../head/graph.js';\nexport const g = Graph;\n",
    );
    expect(up).toHaveLength(1);
    expect(up[0]).toMatch(/src\/data may not import src\/head/);
    expect(await layerErrors('src/core/probe.ts', "export { runCli } from '../cli/cli.js';\n")).toHaveLength(
      1,
    );
    expect(
      await layerErrors('src/features/audio/probe.ts', "export const m = import('../../eval/metrics.js');\n"),
    ).toHaveLength(1);
  });

  it('passes a downward import and one within a folder', async () => {
    expect(
      await layerErrors(
        'src/head/probe.ts',
        "export { readManifestSamples } from '../data/adapters/manifest.js';\n",
      ),
    ).toEqual([]);
    expect(await layerErrors('src/head/probe.ts', "export { Graph } from './graph.js';\n")).toEqual([]);
  });

  it('holds for every file of src/ today', async () => {
    const eslint = new ESLint({ cwd: repoRoot });
    const results = await eslint.lintFiles(['src']);
    const broken = results.flatMap((r) =>
      r.messages.filter((m) => m.ruleId === 'emoflow/layers').map((m) => `${r.filePath}: ${m.message}`),
    );
    expect(broken).toEqual([]);
  }, 120_000);
});
