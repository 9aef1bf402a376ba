/**
 * Does the lexical text channel help, in-corpus and on text corpora the head never read? Text-only
 * heads of the default recipe (scripts/train-default.ts: config, repeats, calibration; no pairs),
 * trained once with the sentence embedding alone (`use`) and once with the lexical bag beside it
 * (`use+lex`, src/features/text/lexical.ts), each over `--seeds` seeds:
 *
 * - `dev`: trained on every text corpus, scored on each dev split (dair accuracy, GoEmotions
 *   macro-F1, MELD and EmoryNLP weighted-F1, EmoBank valence r; head.json's devByCorpus);
 * - LOCO: trained without one emotion-labelled text corpus, scored on that corpus's dev split
 *   under the uniform prior (UAR, accuracy, macro-F1 over the classes present).
 *
 * The `use` variant is the same cache entries with the lexical tail cut off, so both variants
 * see the same sentence embeddings. Rows are appended to `--out` (JSON lines); `--summary`
 * prints the tables (mean and sd over seeds).
 *
 * `--variants use,use+lex` and `--held all,dair,…` (`all`: the dev run) pick a part of the grid;
 * `--config <overrides.json>` changes the recipe (train-default.ts readRecipe) and `--label` names
 * such a variant in the rows (`use+lex <label>`).
 *
 *   npm run build && node dist/scripts/lexical-loco.js --seeds 1,2,3 --out .cache/lexical-loco.jsonl
 *   node dist/scripts/lexical-loco.js --summary --out .cache/lexical-loco.jsonl
 */
import { appendFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../src/core/package-root.js';
import { EMOTIONS } from '../src/core/labels.js';
import { loadDataset } from '../src/data/datasets.js';
import type { FeatureDataset } from '../src/data/feature-dataset.js';
import { classificationMetrics } from '../src/eval/metrics.js';
import { DEFAULT_LEXICAL_BUCKETS, LEXICAL_TAIL, lexicalBucketsOfSpec } from '../src/features/text/lexical.js';
import { loadHead } from '../src/head/artifact.js';
import { meanStd } from '../src/head/cross-validate.js';
import { predict, truthOf } from '../src/head/evaluate.js';
import { priorFactors, withPriors } from '../src/head/label-prior.js';
import { graphSession } from '../src/head/trainer.js';
import { SessionFactory } from '../src/models/session-factory.js';
import { CORPORA, defaultMix, featureContext, fitMix, keepTasks, readRecipe } from './train-default.js';

const TEXT = ['meld', 'goemotions-ekman', 'dair', 'emobank', 'emorynlp'] as const;
/** Held out in turn: the text corpora with emotion labels. */
const HELD = ['meld', 'goemotions-ekman', 'dair', 'emorynlp'] as const;
const VARIANTS = ['use', 'use+lex'] as const;

/** The dataset with the lexical tail cut off its text features (the plain sentence-embedding spec). */
function withoutLexical(ds: FeatureDataset): FeatureDataset {
  const text = ds.features.text!;
  const buckets = lexicalBucketsOfSpec(text.spec.name);
  if (buckets === undefined) return ds;
  const dim = text.spec.dim - LEXICAL_TAIL;
  const data = new Float32Array(ds.size * dim);
  for (let i = 0; i < ds.size; i++)
    data.set(text.data.subarray(i * text.spec.dim, i * text.spec.dim + dim), i * dim);
  const name = text.spec.name.slice(0, text.spec.name.length - `+lex${buckets}`.length);
  return {
    ...ds,
    features: { ...ds.features, text: { spec: { name, version: text.spec.version, dim }, data } },
  };
}

interface Row {
  variant: string;
  seed: number;
  kind: 'dev' | 'loco';
  corpus: string;
  metric: string;
  value: number;
}

async function run(
  seeds: number[],
  out: string,
  cacheDir: string,
  buckets: number,
  variants: readonly (typeof VARIANTS)[number][],
  runs: readonly (string | undefined)[],
  recipe: { config?: string; label?: string } = {},
): Promise<void> {
  const { context, release } = featureContext(cacheDir, { prosody: false, lexicalBuckets: buckets });
  const train = new Map<string, FeatureDataset>();
  const dev = new Map<string, FeatureDataset>();
  for (const key of TEXT) {
    train.set(key, keepTasks(await loadDataset(CORPORA[key]!.train, context)));
    dev.set(key, keepTasks(await loadDataset(CORPORA[key]!.dev!, context)));
  }
  await release();
  const emit = async (row: Row) => {
    await appendFile(out, JSON.stringify(row) + '\n');
    process.stderr.write(JSON.stringify(row) + '\n');
  };
  for (const seed of seeds) {
    const { config, repeats } = await readRecipe(recipe.config, { seed });
    for (const base of variants) {
      const variant = recipe.label === undefined ? base : `${base} ${recipe.label}`;
      const view = (ds: FeatureDataset) => (base === 'use' ? withoutLexical(ds) : ds);
      for (const held of runs) {
        const keys = TEXT.filter((k) => k !== held);
        const mix = defaultMix(
          { train: keys.map((k) => view(train.get(k)!)), dev: keys.map((k) => view(dev.get(k)!)) },
          config,
          { repeats, pairs: 0 },
        );
        const factory = new SessionFactory({ intraOpThreads: config.threads, interOpThreads: 1 });
        const dir = join(packageRoot(), '.cache', 'lexical-loco', `${variant}-${held ?? 'all'}-${seed}`);
        process.stderr.write(
          `${variant} seed ${seed}: training ${held === undefined ? 'on all' : `without ${held}`}\n`,
        );
        try {
          await fitMix(mix, config, factory, { name: `lexical-loco-${variant}`, out: dir });
          const head = await loadHead(dir);
          if (held === undefined) {
            const per = head.json.metrics['devByCorpus'] as Record<
              string,
              { tasks: Record<string, Record<string, number>> }
            >;
            for (const [name, m] of Object.entries(per)) {
              const corpus = TEXT.find((k) => name.startsWith(`${k}:`)) ?? name;
              const e = m.tasks['emotion'];
              const v = m.tasks['valence'];
              if (e !== undefined)
                for (const metric of ['accuracy', 'macroF1', 'weightedF1', 'uar'])
                  await emit({ variant, seed, kind: 'dev', corpus, metric, value: e[metric]! });
              if (v !== undefined)
                await emit({ variant, seed, kind: 'dev', corpus, metric: 'valence_r', value: v['pearson']! });
            }
          } else {
            const session = await graphSession(factory, head.onnx);
            const ds = view(dev.get(held)!);
            const factors = priorFactors(head.desc, head.json.priors, { emotion: 'uniform' });
            const probs = withPriors(await predict(session, head.desc, ds), head.desc, factors).get(
              'emotion',
            )!;
            const m = classificationMetrics(probs, truthOf(ds.tasks['emotion']!, EMOTIONS.length), [
              ...EMOTIONS,
            ]);
            for (const metric of ['uar', 'accuracy', 'macroF1', 'weightedF1'] as const)
              await emit({ variant, seed, kind: 'loco', corpus: held, metric, value: m[metric] });
          }
        } finally {
          await factory.release();
          await rm(dir, { recursive: true, force: true });
        }
      }
    }
  }
}

async function summary(out: string): Promise<void> {
  const rows = (await readFile(out, 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Row)
    // A run repeated (an interrupted script run again) counts once: the last row of each key.
    .filter(
      (r, i, all) =>
        !all
          .slice(i + 1)
          .some(
            (q) =>
              q.variant === r.variant &&
              q.seed === r.seed &&
              q.kind === r.kind &&
              q.corpus === r.corpus &&
              q.metric === r.metric,
          ),
    );
  const keys = [...new Set(rows.map((r) => `${r.kind}|${r.corpus}|${r.metric}`))];
  const variants = [...new Set(rows.map((r) => r.variant))];
  const print = (s: string) => process.stdout.write(s + '\n');
  print(`| kind | corpus | metric | ${variants.join(' | ')} |`);
  print(`| --- | --- | --- | ${variants.map(() => '---').join(' | ')} |`);
  for (const k of keys) {
    const [kind, corpus, metric] = k.split('|');
    const cells = variants.map((v) => {
      const vals = rows
        .filter((r) => r.variant === v && `${r.kind}|${r.corpus}|${r.metric}` === k)
        .map((r) => r.value);
      if (vals.length === 0) return '';
      const s = meanStd(vals);
      return `${s.mean.toFixed(3)} ± ${s.std.toFixed(3)} (${vals.length})`;
    });
    print(`| ${kind} | ${corpus} | ${metric} | ${cells.join(' | ')} |`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string' },
      out: { type: 'string' },
      cache: { type: 'string' },
      buckets: { type: 'string' },
      variants: { type: 'string' },
      held: { type: 'string' },
      config: { type: 'string' },
      label: { type: 'string' },
      summary: { type: 'boolean' },
    },
  });
  const out = values.out ?? join(packageRoot(), '.cache', 'lexical-loco.jsonl');
  if (values.summary === true) return summary(out);
  await run(
    (values.seeds ?? '1,2,3').split(',').map(Number),
    out,
    values.cache ?? join(packageRoot(), '.cache', 'features'),
    values.buckets === undefined ? DEFAULT_LEXICAL_BUCKETS : Number(values.buckets),
    (values.variants?.split(',') ?? VARIANTS) as (typeof VARIANTS)[number][],
    // `all` is the in-corpus dev run (trained on every text corpus).
    (values.held?.split(',') ?? ['all', ...HELD]).map((h) => (h === 'all' ? undefined : h)),
    {
      ...(values.config === undefined ? {} : { config: values.config }),
      ...(values.label === undefined ? {} : { label: values.label }),
    },
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`lexical-loco: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
