/**
 * Leave-one-corpus-out (LOCO) evaluation of the default head's training recipe: how the head does
 * on a corpus it never saw, which is what a user's data always is.
 *
 * Each fold holds out one corpus of every modality at once (a text, a face and a speech corpus:
 * they share no rows, so holding them out together costs one training instead of three), trains
 * the default mix without them (scripts/train-default.ts: same config, repeats, pairs and
 * calibration), and scores each held-out corpus on its dev split where it has one, else on all
 * of it. A corpus outside the mix is scored by the fold that lists it (no model saw it).
 * Figures: accuracy, UAR and macro-F1 of the 7-class argmax over the classes present in the
 * corpus, under each `--priors` choice (the head's prior record, src/head/label-prior.ts);
 * speech corpora with per-speaker standardisation (speakers known, as a manifest with a
 * speaker column gives them), with speakers unknown (the head's global statistics) and pooled
 * (the whole corpus standardised as one speaker). Faces and voices are scored as lone samples
 * (no group), as a user's folder gives them.
 *
 *   npm run build
 *   node dist/scripts/loco.js --variant before --out docs/loco/runs.jsonl
 *   node dist/scripts/loco.js --variant after --config after.json --out docs/loco/runs.jsonl
 *   node dist/scripts/loco.js --summary --out docs/loco/runs.jsonl
 */
import { appendFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../src/core/package-root.js';
import { EMOTIONS } from '../src/core/labels.js';
import { loadDataset } from '../src/data/datasets.js';
import type { FeatureDataset } from '../src/data/feature-dataset.js';
import { applySpeakerNorm } from '../src/data/speaker-norm.js';
import { classificationMetrics, type ClassificationMetrics } from '../src/eval/metrics.js';
import { loadHead } from '../src/head/artifact.js';
import { predict, truthOf } from '../src/head/evaluate.js';
import { priorFactors, withPriors, type PriorChoice } from '../src/head/label-prior.js';
import { graphSession } from '../src/head/trainer.js';
import { SessionFactory } from '../src/models/session-factory.js';
import {
  CORPORA,
  anonymous,
  defaultMix,
  featureContext,
  fitMix,
  keepTasks,
  readRecipe,
} from './train-default.js';

/** The folds: each holds out at most one corpus per modality. */
export const LOCO_FOLDS = [
  ['meld', 'ferplus', 'ravdess'],
  ['goemotions-ekman', 'tcce', 'emodb'],
  ['dair', 'emovo'],
  ['emorynlp', 'nemo'],
];

/** A prior to score under: a named one, or the training mix's shares raised to `alpha` (0 uniform, 1 training). */
type ScorePrior = { name: string; choice: (training: number[]) => PriorChoice };

function parsePriors(text: string): ScorePrior[] {
  return text.split(',').map((p) => {
    if (p === 'uniform' || p === 'training') return { name: p, choice: () => p };
    const alpha = Number(p);
    if (!Number.isFinite(alpha)) throw new Error(`--priors: '${p}' is not uniform, training or a number`);
    return { name: `training^${alpha}`, choice: (training) => training.map((v) => Math.pow(v, alpha)) };
  });
}

interface Row {
  variant: string;
  seed: number;
  fold: number;
  corpus: string;
  modality: string;
  scoredOn: string;
  prior: string;
  speakers: 'known' | 'unknown' | 'pooled' | 'n/a';
  samples: number;
  classes: string[];
  accuracy: number;
  uar: number;
  macroF1: number;
}

/** A dataset whose samples all share one speaker and no group: the corpus as one pseudo-speaker. */
function pooled(ds: FeatureDataset): FeatureDataset {
  const out = anonymous(ds);
  out.speakers = ds.ids.map(() => 'pooled');
  return out;
}

function round(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}

async function run(values: Record<string, string | boolean | undefined>): Promise<void> {
  const out = values['out'] as string;
  const variant = (values['variant'] as string | undefined) ?? 'default';
  const {
    config,
    repeats,
    pairs,
    mix: mixKeys,
    features,
  } = await readRecipe(
    values['config'] as string | undefined,
    values['seed'] === undefined ? {} : { seed: Number(values['seed']) },
  );
  const priors = parsePriors((values['priors'] as string | undefined) ?? 'training,uniform,0.5');
  const folds =
    values['folds'] === undefined
      ? LOCO_FOLDS.map((_, i) => i)
      : (values['folds'] as string).split(',').map((f) => Number(f) - 1);
  const cacheDir = (values['cache'] as string | undefined) ?? join(packageRoot(), '.cache', 'features');

  const { context, release } = featureContext(cacheDir, features);
  const train = new Map<string, FeatureDataset>();
  const dev = new Map<string, FeatureDataset>();
  const scoring = new Map<string, FeatureDataset>();
  const wanted = new Set([...mixKeys, ...folds.flatMap((f) => LOCO_FOLDS[f]!)]);
  for (const key of wanted) {
    const entry = CORPORA[key]!;
    const t = keepTasks(await loadDataset(entry.train, context));
    const d = entry.dev === undefined ? undefined : keepTasks(await loadDataset(entry.dev, context));
    if (mixKeys.includes(key)) {
      train.set(key, t);
      if (d !== undefined) dev.set(key, d);
    }
    scoring.set(key, d ?? t);
  }
  await release();

  for (const f of folds) {
    const held = LOCO_FOLDS[f]!;
    const keys = mixKeys.filter((k) => !held.includes(k));
    const raw = { train: keys.map((k) => train.get(k)!), dev: keys.flatMap((k) => dev.get(k) ?? []) };
    const mix = defaultMix(raw, config, { repeats, pairs });
    const factory = new SessionFactory({ intraOpThreads: config.threads, interOpThreads: 1 });
    const dir = join(packageRoot(), '.cache', 'loco', `${variant}-fold${f + 1}`);
    process.stderr.write(`fold ${f + 1}: training without ${held.join(', ')}\n`);
    await fitMix(mix, config, factory, { name: `loco-${variant}-${f + 1}`, out: dir });
    const head = await loadHead(dir);
    const session = await graphSession(factory, head.onnx);
    const record = head.json.priors?.['emotion'];
    for (const key of held) {
      const entry = CORPORA[key]!;
      const base = scoring.get(key)!;
      // Faces and voices as a user's folder gives them: no speaker, no group (lone samples, the
      // head's global statistics); speech also with its speakers known, as a manifest names them.
      const views: { speakers: Row['speakers']; ds: FeatureDataset }[] =
        entry.modality === 'audio'
          ? [
              { speakers: 'known', ds: applySpeakerNorm(base, head.json.speakerNorm, true) },
              { speakers: 'unknown', ds: applySpeakerNorm(anonymous(base), head.json.speakerNorm, false) },
              // Speakers unknown, the whole corpus standardised as one (corpus-level normalisation).
              { speakers: 'pooled', ds: applySpeakerNorm(pooled(base), head.json.speakerNorm, true) },
            ]
          : [{ speakers: 'n/a', ds: entry.modality === 'image' ? anonymous(base) : base }];
      for (const view of views) {
        const outputs = await predict(session, head.desc, view.ds);
        const probs = outputs.get('emotion')!;
        const truth = truthOf(view.ds.tasks['emotion']!, EMOTIONS.length);
        for (const p of priors) {
          const choice = p.choice(record?.training ?? []);
          const factors = priorFactors(head.desc, head.json.priors, { emotion: choice });
          const y = withPriors(new Map([['emotion', probs.slice()]]), head.desc, factors).get('emotion')!;
          const m: ClassificationMetrics = classificationMetrics(y, truth, [...EMOTIONS]);
          const row: Row = {
            variant,
            seed: config.seed,
            fold: f + 1,
            corpus: key,
            modality: entry.modality,
            scoredOn: view.ds.name,
            prior: p.name,
            speakers: view.speakers,
            samples: m.samples,
            classes: EMOTIONS.filter((_, k) => truth.some((t) => t === k)),
            accuracy: round(m.accuracy),
            uar: round(m.uar),
            macroF1: round(m.macroF1),
          };
          await appendFile(out, JSON.stringify(row) + '\n');
          process.stderr.write(
            `  ${key} ${p.name} ${view.speakers}: UAR ${row.uar} acc ${row.accuracy} macro-F1 ${row.macroF1}\n`,
          );
        }
      }
    }
    await factory.release();
    if (values['keep'] !== true) await rm(dir, { recursive: true, force: true });
  }
}

/** Markdown: one row per corpus (speech twice: speakers known / unknown), one column per variant and prior (UAR). */
async function summary(out: string, metric: 'uar' | 'accuracy' | 'macroF1'): Promise<void> {
  const rows = (await readFile(out, 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Row);
  const columns = [...new Set(rows.map((r) => `${r.variant} · ${r.prior}`))];
  const lines = [
    ...new Set(rows.map((r) => `${r.corpus}${r.speakers === 'n/a' ? '' : ` (speakers ${r.speakers})`}`)),
  ];
  const order = LOCO_FOLDS.flat();
  const modalityOf = (line: string) => CORPORA[line.split(' ')[0]!]!.modality;
  lines.sort(
    (a, b) =>
      ['text', 'image', 'audio'].indexOf(modalityOf(a)) - ['text', 'image', 'audio'].indexOf(modalityOf(b)) ||
      order.indexOf(a.split(' ')[0]!) - order.indexOf(b.split(' ')[0]!) ||
      a.localeCompare(b),
  );
  const cell = (line: string, col: string): string => {
    const hits = rows.filter(
      (r) =>
        `${r.corpus}${r.speakers === 'n/a' ? '' : ` (speakers ${r.speakers})`}` === line &&
        `${r.variant} · ${r.prior}` === col,
    );
    if (hits.length === 0) return '';
    const v = hits.map((h) => h[metric]);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    return hits.length === 1 ? mean.toFixed(3) : `${mean.toFixed(3)} (${hits.length} seeds)`;
  };
  const print = (s: string) => process.stdout.write(s + '\n');
  print(`| corpus (${metric}) | classes | ${columns.join(' | ')} |`);
  print(`| --- | --- | ${columns.map(() => '---').join(' | ')} |`);
  for (const line of lines) {
    const any = rows.find(
      (r) => `${r.corpus}${r.speakers === 'n/a' ? '' : ` (speakers ${r.speakers})`}` === line,
    )!;
    print(`| ${line} | ${any.classes.length} | ${columns.map((c) => cell(line, c)).join(' | ')} |`);
  }
  const means = columns.map((c) => {
    const per = ['text', 'image', 'audio'].map((m) => {
      const v = lines
        .filter((l) => modalityOf(l) === m && !l.includes('speakers known') && !l.includes('speakers pooled'))
        .map((l) => Number(cell(l, c).split(' ')[0]))
        .filter((x) => Number.isFinite(x) && x > 0);
      return v.length === 0 ? '' : (v.reduce((a, b) => a + b, 0) / v.length).toFixed(3);
    });
    return per.join(' / ');
  });
  print(`| mean text / face / speech (speakers unknown) | | ${means.join(' | ')} |`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      variant: { type: 'string' },
      config: { type: 'string' },
      seed: { type: 'string' },
      folds: { type: 'string' },
      priors: { type: 'string' },
      cache: { type: 'string' },
      keep: { type: 'boolean' },
      summary: { type: 'boolean' },
      metric: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true || values.out === undefined) {
    process.stdout.write(
      'Usage: node dist/scripts/loco.js --out runs.jsonl [--variant name] [--config overrides.json] [--seed n]\n' +
        '         [--folds 1,2,3,4] [--priors training,uniform,0.5] [--cache dir] [--keep]\n' +
        '       node dist/scripts/loco.js --summary --out runs.jsonl [--metric uar|accuracy|macroF1]\n' +
        'Leave-one-corpus-out evaluation of the default head recipe. Folds (each trains once, without):\n' +
        LOCO_FOLDS.map((f, i) => `  ${i + 1}: ${f.join(', ')}\n`).join('') +
        '--config: keys merged over the default head config, plus "repeats", "paired" and "mix" (the corpora\n' +
        '  trained on) as npm run train:default takes them. --priors: priors each held-out corpus is scored\n' +
        '  under (uniform, training, or a number a: the training shares to the power a). Appends JSON lines.\n',
    );
    return;
  }
  if (values.summary === true)
    return summary(values.out, (values.metric as 'uar' | 'accuracy' | 'macroF1' | undefined) ?? 'uar');
  return run(values);
}

main().catch((e: unknown) => {
  process.stderr.write(`loco: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
