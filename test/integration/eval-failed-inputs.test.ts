import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emoflow } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';

// Runs on the committed default head and models only: no corpora needed.
describe('emoflow eval leaves out samples whose inputs all failed', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'emoflow-eval-failed-'));
    // A .jpg that is a text file, and a row naming a file that does not exist.
    await writeFile(join(work, 'not-an-image.jpg'), 'this is not a JPEG\n');
    await writeFile(
      join(work, 'labels.csv'),
      [
        'id,text,image,emotion',
        't1,I am so happy and grateful today!,,joy',
        't2,This is outrageous and I am furious at you,,anger',
        't3,I miss her so much and I cannot stop crying,,sadness',
        'f1,,missing.jpg,sadness',
        'f2,,not-an-image.jpg,sadness',
      ].join('\n') + '\n',
    );
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('scores only the three readable samples and says which two it left out and why', async () => {
    const run = await emoflow([
      'eval',
      '--head',
      join(repoRoot, 'models', 'heads', 'default'),
      '--data',
      `manifest:${join(work, 'labels.csv')}`,
      '--cache',
      join(work, 'cache'),
      '--no-progress',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const result = run.json<{
      samples: number;
      excluded: { count: number; ids: string[]; inputErrors: Record<string, number> };
      tasks: { emotion: { samples: number; confusion: number[][] } };
    }>();
    expect(result.samples).toBe(3);
    expect(result.excluded.count).toBe(2);
    expect(result.excluded.ids.sort()).toEqual(['f1', 'f2']);
    expect(result.excluded.inputErrors).toEqual({ FILE_NOT_FOUND: 1, IMAGE_DECODE_FAILED: 1 });
    // The confusion matrix counts the three text rows only: nothing scored on the head's bias.
    expect(result.tasks.emotion.samples).toBe(3);
    const total = result.tasks.emotion.confusion.flat().reduce((a, b) => a + b, 0);
    expect(total).toBe(3);
    expect(run.stderr).toMatch(/2 of 5 samples excluded from the scores/);
    expect(run.stderr).toMatch(/FILE_NOT_FOUND 1/);
  });
});
