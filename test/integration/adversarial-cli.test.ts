import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { emoflow } from '../support/cli.js';
import { sharedNeeds } from '../support/paths.js';

const work = mkdtempSync(join(tmpdir(), 'emoflow-adv-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const CORPORA = sharedNeeds('data/speech/ravdess/Actor_01', 'data/speech/emodb');
const ACTOR = `ravdess:${CORPORA.paths[0]!}`;
const EMODB = `emodb:${CORPORA.paths[1]!}`;

describe.skipIf(CORPORA.missing)(
  `emoflow train with a domain classifier and unlabelled target data ${CORPORA.tag}`,
  () => {
    it('trains on labelled RAVDESS and unlabelled EmoDB, and writes a head without the corpus task', async () => {
      const config = join(work, 'adv.json');
      writeFileSync(config, JSON.stringify({ domainAdversarial: 0.3, epochs: 3, speakerNorm: {} }));
      const out = join(work, 'adv');
      const r = await emoflow([
        'train',
        '--data',
        ACTOR,
        '--unlabelled',
        EMODB,
        '--config',
        config,
        '--out',
        out,
        '--json',
        '--no-progress',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const json = JSON.parse(readFileSync(join(out, 'head.json'), 'utf8')) as {
        tasks: { name: string }[];
        speakerNorm: { modalities: string[]; minSamples: number } | null;
        training: {
          corpora: { corpus: string; samples: number }[];
          log: { taskLosses: Record<string, number> }[];
        };
      };
      expect(json.tasks.map((t) => t.name)).toEqual(['emotion']);
      expect(json.speakerNorm).toMatchObject({ modalities: ['audio'], minSamples: 8 });
      expect(json.training.corpora.map((c) => c.samples)).toEqual([44, 535]);
      expect(json.training.corpora[0]!.corpus).toMatch(/RAVDESS/);
      expect(json.training.corpora[1]!.corpus).toMatch(/EmoDB/i);
      // The corpus classifier trained (its loss is logged) and was dropped from the head.
      expect(json.training.log).toHaveLength(3);
      expect(json.training.log[0]!.taskLosses['corpus']).toBeGreaterThan(0);
      const ev = await emoflow(['eval', '--head', out, '--data', EMODB, '--no-progress']);
      expect(ev.code, ev.stderr).toBe(0);
      expect(ev.json<{ samples: number }>().samples).toBe(535);
    });

    it('refuses --unlabelled without domainAdversarial, and one corpus for a domain classifier', async () => {
      const r = await emoflow(['train', '--data', ACTOR, '--unlabelled', EMODB, '--out', join(work, 'x')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('CONFIG_INVALID');
      const config = join(work, 'one.json');
      writeFileSync(config, JSON.stringify({ domainAdversarial: 0.3, epochs: 1 }));
      const one = await emoflow(['train', '--data', ACTOR, '--config', config, '--out', join(work, 'y')]);
      expect(one.code).toBe(2);
      expect(one.stderr).toContain('two corpora or more');
    });
  },
);
