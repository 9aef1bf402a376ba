/**
 * The ablation of the multi-task head's methods (issue #13, docs/RESULTS.md): each method on,
 * against the shipped settings, with the same seeds; every figure from dev splits or group
 * cross-validation, never a test split.
 *
 * - `--part mix`: the default head's whole training mix (scripts/train-default.ts) per variant
 *   and seed, scored on the dev corpora (MELD weighted-F1, GoEmotions macro-F1, dair accuracy,
 *   EmoBank valence r, FER+ accuracy, paired fused accuracy).
 * - `--part speech`: speech-only heads (the default head's settings at 60 epochs, as
 *   docs/RESULTS.md's speech section): RAVDESS 6-fold actor cross-validation UAR, and the
 *   cross-corpus UAR on EmoDB of a head trained on all of RAVDESS (the domain-adversarial
 *   variants see EmoDB's clips without labels: unsupervised domain adaptation).
 *
 * Each finished run is appended to `--out` (JSON lines), so an interrupted ablation resumes;
 * `--summary` prints the table (mean ± sd over seeds) from that file.
 *
 *   npm run build && node dist/scripts/ablation.js --part mix --variants baseline,uncertainty --seeds 1,2,3 --out .cache/ablation.jsonl
 *   node dist/scripts/ablation.js --summary --out .cache/ablation.jsonl
 */
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sharedPath } from '../src/bench/bench-inputs.js';
import { packageRoot } from '../src/core/package-root.js';
import { loadDataset } from '../src/data/datasets.js';
import { withoutLabels } from '../src/data/domain-task.js';
import type { FeatureDataset } from '../src/data/feature-dataset.js';
import { applySpeakerNorm } from '../src/data/speaker-norm.js';
import { mergeDatasets } from '../src/data/datasets.js';
import type { ClassificationMetrics, RegressionMetrics } from '../src/eval/metrics.js';
import { headOnnx } from '../src/head/artifact.js';
import { crossValidate, meanStd } from '../src/head/cross-validate.js';
import { evaluate, predict } from '../src/head/evaluate.js';
import { prepareTrainingSets } from '../src/head/fit-head.js';
import { parseTrainConfig } from '../src/head/train-config.js';
import { graphSession, trainHead } from '../src/head/trainer.js';
import { SessionFactory } from '../src/models/session-factory.js';
import {
  DEFAULT_HEAD_CONFIG,
  PAIRED,
  REPEATS,
  defaultMix,
  fitMix,
  featureContext,
  keepTasks,
  loadDefaultCorpora,
} from './train-default.js';

/** The settings before #13 (the shipped head of #10): no context, no speaker normalisation. */
const ARCH: Record<string, unknown> = { ...DEFAULT_HEAD_CONFIG.architecture };
delete ARCH['context'];
const BASE = { ...DEFAULT_HEAD_CONFIG, architecture: ARCH, speakerNorm: null };

/** Each method as config keys over the settings before #13; `shipped` is what ships now. */
export const VARIANTS: Record<string, Record<string, unknown>> = {
  baseline: {},
  shipped: {
    architecture: DEFAULT_HEAD_CONFIG.architecture,
    speakerNorm: DEFAULT_HEAD_CONFIG.speakerNorm,
  },
  concat: { architecture: { ...ARCH, fusion: 'concat' }, modalityDropout: 0.2 },
  late: { architecture: { ...ARCH, fusion: 'late' } },
  context: { architecture: { ...ARCH, context: { layers: 1, window: 2, speakerEdges: true } } },
  uncertainty: { lossWeighting: 'uncertainty' },
  dwa: { lossWeighting: 'dwa' },
  speakerNorm: { speakerNorm: { modalities: ['audio'], minSamples: 8 } },
  adversarial: { domainAdversarial: 0.1 },
  'adversarial+speakerNorm': {
    domainAdversarial: 0.1,
    speakerNorm: { modalities: ['audio'], minSamples: 8 },
  },
};

const SPEECH_EPOCHS = 60;

interface Row {
  part: 'mix' | 'speech';
  variant: string;
  seed: number;
  figures: Record<string, number>;
  seconds: number;
}

function emotionOf(metrics: unknown, corpus: string): ClassificationMetrics {
  const by = (metrics as { devByCorpus: Record<string, { tasks: Record<string, unknown> }> }).devByCorpus;
  return by[corpus]!.tasks['emotion'] as ClassificationMetrics;
}

async function runMix(
  raw: { train: FeatureDataset[]; dev: FeatureDataset[] },
  variant: Record<string, unknown>,
  seed: number,
): Promise<Record<string, number>> {
  const config = parseTrainConfig({ ...BASE, ...variant, seed });
  const mix = defaultMix(raw, config, { repeats: REPEATS, pairs: PAIRED });
  const factory = new SessionFactory({ intraOpThreads: config.threads, interOpThreads: 1 });
  const out = await mkdtemp(join(tmpdir(), 'emoflow-ablation-'));
  try {
    const fitted = await fitMix(mix, config, factory, { name: 'ablation', out });
    const m = fitted.metrics;
    const by = (m as { devByCorpus: Record<string, { tasks: Record<string, unknown> }> }).devByCorpus;
    return {
      meldWeightedF1: emotionOf(m, 'meld:dev_sent_emo.csv').weightedF1,
      goemotionsMacroF1: emotionOf(m, 'goemotions-ekman:dev.tsv').macroF1,
      dairAccuracy: emotionOf(m, 'dair:val.txt').accuracy,
      emobankValenceR: (by['emobank:emobank.csv#dev']!.tasks['valence'] as RegressionMetrics).pearson,
      ferplusAccuracy: emotionOf(m, 'ferplus:FER2013Valid').accuracy,
      pairedAccuracy: emotionOf(m, 'paired:emotion').accuracy,
    };
  } finally {
    await factory.release();
    await rm(out, { recursive: true, force: true });
  }
}

async function runSpeech(
  ravdess: FeatureDataset,
  emodb: FeatureDataset,
  variant: Record<string, unknown>,
  seed: number,
): Promise<Record<string, number>> {
  const config = parseTrainConfig({ ...BASE, epochs: SPEECH_EPOCHS, ...variant, seed });
  const factory = new SessionFactory({ intraOpThreads: config.threads, interOpThreads: 1 });
  try {
    const figures: Record<string, number> = {};
    // Actor cross-validation: a domain classifier needs a second corpus, so the adversarial
    // variants are scored across corpora only.
    if (config.domainAdversarial === 0) {
      const cv = await crossValidate(ravdess, { k: 6, group: 'speaker', config, factory });
      figures['ravdessActorCvUar'] = cv.summary['emotion']!['uar']!.mean;
      if (config.speakerNorm !== null) {
        // The same folds with the held-out actors unknown: every clip gets the global statistics.
        const blind = await crossValidate(ravdess, {
          k: 6,
          group: 'speaker',
          config,
          factory,
          speakerNormAtTest: 'off',
        });
        figures['ravdessActorCvUarSpeakersUnknown'] = blind.summary['emotion']!['uar']!.mean;
      }
    }
    const sets = config.domainAdversarial > 0 ? [ravdess, withoutLabels(emodb)] : [ravdess];
    const prepared = prepareTrainingSets(sets, config);
    const r = await trainHead({ train: mergeDatasets(prepared.sets), config, factory });
    const test = applySpeakerNorm(emodb, prepared.speakerNorm);
    const session = await graphSession(factory, headOnnx(r.desc, r.params, 'ablation'));
    const m = evaluate(r.desc, await predict(session, r.desc, test), test).tasks[
      'emotion'
    ] as ClassificationMetrics;
    figures['emodbCrossCorpusUar'] = m.uar;
    return figures;
  } finally {
    await factory.release();
  }
}

function summary(rows: Row[]): string {
  const lines: string[] = [];
  for (const part of ['mix', 'speech'] as const) {
    const mine = rows.filter((r) => r.part === part);
    if (mine.length === 0) continue;
    const names = [...new Set(mine.flatMap((r) => Object.keys(r.figures)))];
    lines.push(`| ${part} variant | seeds | ${names.join(' | ')} |`);
    lines.push(`| --- | --- | ${names.map(() => '---').join(' | ')} |`);
    for (const variant of [...new Set(mine.map((r) => r.variant))]) {
      const runs = mine.filter((r) => r.variant === variant);
      const cells = names.map((n) => {
        const xs = runs.map((r) => r.figures[n]).filter((x): x is number => x !== undefined);
        if (xs.length === 0) return '';
        const { mean, std } = meanStd(xs);
        return xs.length > 1 ? `${mean.toFixed(3)} ± ${std.toFixed(3)}` : mean.toFixed(3);
      });
      lines.push(`| ${variant} | ${runs.map((r) => r.seed).join(',')} | ${cells.join(' | ')} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      part: { type: 'string', default: 'mix' },
      variants: { type: 'string' },
      seeds: { type: 'string', default: '1,2,3' },
      out: { type: 'string', default: join(packageRoot(), '.cache', 'ablation.jsonl') },
      cache: { type: 'string', default: join(packageRoot(), '.cache', 'features') },
      summary: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    process.stdout.write(
      'Usage: node dist/scripts/ablation.js [--part mix|speech] [--variants a,b] [--seeds 1,2,3] [--out file.jsonl] [--cache dir]\n' +
        '       node dist/scripts/ablation.js --summary [--out file.jsonl]\n' +
        `Variants: ${Object.keys(VARIANTS).join(', ')}\n`,
    );
    return;
  }
  const readRows = async (): Promise<Row[]> =>
    (await readFile(values.out, 'utf8').catch(() => ''))
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Row);
  if (values.summary === true) {
    process.stdout.write(summary(await readRows()) + '\n');
    return;
  }
  const part = values.part === 'speech' ? 'speech' : 'mix';
  const variants = values.variants?.split(',') ?? Object.keys(VARIANTS);
  for (const v of variants) if (VARIANTS[v] === undefined) throw new Error(`unknown variant ${v}`);
  const seeds = values.seeds.split(',').map(Number);
  const done = new Set((await readRows()).map((r) => `${r.part}/${r.variant}/${r.seed}`));
  const { context, release } = featureContext(values.cache);
  let run: (variant: Record<string, unknown>, seed: number) => Promise<Record<string, number>>;
  if (part === 'mix') {
    const raw = await loadDefaultCorpora(context);
    run = (variant, seed) => runMix(raw, variant, seed);
  } else {
    const ravdess = keepTasks(
      await loadDataset(`ravdess:${sharedPath('data', 'speech', 'ravdess')}`, context),
    );
    const emodb = keepTasks(await loadDataset(`emodb:${sharedPath('data', 'speech', 'emodb')}`, context));
    run = (variant, seed) => runSpeech(ravdess, emodb, variant, seed);
  }
  await release();
  for (const variant of variants) {
    for (const seed of seeds) {
      if (done.has(`${part}/${variant}/${seed}`)) continue;
      const t0 = Date.now();
      const figures = await run(VARIANTS[variant]!, seed);
      const row: Row = { part, variant, seed, figures, seconds: (Date.now() - t0) / 1000 };
      await appendFile(values.out, JSON.stringify(row) + '\n');
      process.stderr.write(`${part} ${variant} seed ${seed}: ${JSON.stringify(figures)}\n`);
    }
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`ablation: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
