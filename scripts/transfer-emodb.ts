/**
 * Transfer learning, measured: the default head fine-tuned on a few labelled EmoDB clips
 * (`trainHead` with `init`, as `emoflow train --init`), against a head trained on those clips
 * alone and against the default head untouched, scored on EmoDB speakers none of them saw.
 * 5 folds of 2 held-out speakers; in each, N clips drawn (seeded, stratified by class) from the
 * other 8 speakers. Prints JSON and writes an SVG learning curve.
 *
 *   npm run build && node dist/scripts/transfer-emodb.js [--svg docs/transfer-emodb.svg]
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sharedPath } from '../src/bench/bench-inputs.js';
import { packageRoot } from '../src/core/package-root.js';
import { Random } from '../src/core/random.js';
import { loadDataset } from '../src/data/datasets.js';
import { applySpeakerNorm } from '../src/data/speaker-norm.js';
import type { FeatureDataset } from '../src/data/feature-dataset.js';
import type { ClassificationMetrics } from '../src/eval/metrics.js';
import { buildExtractors } from '../src/features/extractors.js';
import { headOnnx, loadHead } from '../src/head/artifact.js';
import { subset } from '../src/data/dataset-rows.js';
import { groupFolds, meanStd } from '../src/head/cross-validate.js';
import { evaluate, predict } from '../src/head/evaluate.js';
import type { HeadDescription } from '../src/head/head-spec.js';
import type { ParamStore } from '../src/head/head-model.js';
import { parseTrainConfig } from '../src/head/train-config.js';
import { graphSession, trainHead } from '../src/head/trainer.js';
import { ModelStore } from '../src/models/model-store.js';
import { SessionFactory } from '../src/models/session-factory.js';

const SIZES = [20, 50, 100, 200, 400];
/** Fine-tuning gets the same budget as training from scratch. */
const FINE_TUNE = parseTrainConfig({ epochs: 60, batchSize: 32, seed: 1 });
const FINE_TUNE_REFIT = { ...FINE_TUNE, refitStatistics: true };
const FROM_SCRATCH = parseTrainConfig({ epochs: 60, batchSize: 32, seed: 1 });

async function uar(
  factory: SessionFactory,
  desc: HeadDescription,
  params: ParamStore,
  test: FeatureDataset,
): Promise<number> {
  const session = await graphSession(factory, headOnnx(desc, params, 'transfer'));
  return (evaluate(desc, await predict(session, desc, test), test).tasks['emotion'] as ClassificationMetrics)
    .uar;
}

/** N labelled rows drawn round-robin over classes (seeded), from `rows`. */
function draw(ds: FeatureDataset, rows: number[], n: number, seed: number): number[] {
  const t = ds.tasks['emotion']!;
  const byClass = new Map<number, number[]>();
  for (const r of rows) {
    if (t.has[r] === 0) continue;
    let k = 0;
    for (let c = 1; c < 7; c++) if (t.targets[r * 7 + c]! > t.targets[r * 7 + k]!) k = c;
    if (!byClass.has(k)) byClass.set(k, []);
    byClass.get(k)!.push(r);
  }
  const rnd = new Random(seed);
  const pools = [...byClass.values()];
  for (const p of pools) rnd.shuffle(p);
  const out: number[] = [];
  for (let i = 0; out.length < n && pools.some((p) => p.length > 0); i++) {
    const p = pools[i % pools.length]!;
    const r = p.pop();
    if (r !== undefined) out.push(r);
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { svg: { type: 'string' }, cache: { type: 'string' } } });
  const head = await loadHead(join(packageRoot(), 'models', 'heads', 'default'));
  const store = new ModelStore();
  const extraction = new SessionFactory();
  const raw = await loadDataset(`emodb:${sharedPath('data', 'speech', 'emodb')}`, {
    cacheDir: values.cache ?? join(packageRoot(), '.cache', 'features'),
    extractors: () => buildExtractors({ factory: extraction, store, modalities: ['audio'], vad: false }),
  });
  // The clips as the default head takes them: standardised per speaker when it was trained so.
  const emodb = applySpeakerNorm(raw, head.json.speakerNorm);
  const factory = new SessionFactory({ intraOpThreads: 1, interOpThreads: 1 });
  const folds = groupFolds(emodb.speakers!, 5, 1);
  const curve: Record<string, Record<number, number[]>> = {
    'fine-tuned, statistics refitted': {},
    'fine-tuned': {},
    'from scratch': {},
    'default head': {},
  };
  for (let f = 0; f < folds.length; f++) {
    const held = new Set(folds[f]!);
    const pool = Array.from({ length: emodb.size }, (_, i) => i).filter((i) => !held.has(i));
    const test = subset(emodb, folds[f]!);
    const base = await uar(factory, head.desc, head.params, test);
    for (const n of SIZES) {
      const train = subset(emodb, draw(emodb, pool, n, 100 + f));
      const tuned = await trainHead({
        train,
        config: FINE_TUNE,
        factory,
        init: { desc: head.desc, params: head.params },
      });
      const refit = await trainHead({
        train,
        config: FINE_TUNE_REFIT,
        factory,
        init: { desc: head.desc, params: head.params },
      });
      const scratch = await trainHead({ train, config: FROM_SCRATCH, factory });
      for (const [name, value] of [
        ['fine-tuned, statistics refitted', await uar(factory, refit.desc, refit.params, test)],
        ['fine-tuned', await uar(factory, tuned.desc, tuned.params, test)],
        ['from scratch', await uar(factory, scratch.desc, scratch.params, test)],
        ['default head', base],
      ] as const)
        (curve[name]![n] ??= []).push(value);
      process.stderr.write(`fold ${f + 1}/5, ${train.size} clips: done\n`);
    }
  }
  const result = Object.fromEntries(
    Object.entries(curve).map(([k, v]) => [
      k,
      Object.fromEntries(Object.entries(v).map(([n, xs]) => [n, meanStd(xs).mean])),
    ]),
  );
  process.stdout.write(
    JSON.stringify({
      corpus: 'emodb',
      folds: 5,
      heldOutSpeakersPerFold: 2,
      metric: 'uar',
      sizes: SIZES,
      curve: result,
    }) + '\n',
  );
  if (values.svg !== undefined)
    await writeFile(values.svg, svg(result as Record<string, Record<string, number>>));
}

/** A small line chart: UAR against labelled clips (log scale), one line per method. */
function svg(curve: Record<string, Record<string, number>>): string {
  const W = 620;
  const H = 320;
  const L = 56;
  const R = 210;
  const T = 20;
  const B = 44;
  const xs = SIZES.map((n) => Math.log(n));
  const x = (n: number) => L + ((Math.log(n) - xs[0]!) / (xs.at(-1)! - xs[0]!)) * (W - L - R);
  const y = (v: number) => T + (1 - v / 0.8) * (H - T - B);
  const colours: Record<string, string> = {
    'fine-tuned, statistics refitted': '#1b9e77',
    'fine-tuned': '#1b6ca8',
    'from scratch': '#d95f02',
    'default head': '#777777',
  };
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  for (const v of [0, 0.2, 0.4, 0.6, 0.8]) {
    parts.push(
      `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${L - 8}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(1)}</text>`,
    );
  }
  for (const n of SIZES) parts.push(`<text x="${x(n)}" y="${H - B + 18}" text-anchor="middle">${n}</text>`);
  parts.push(
    `<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">labelled EmoDB clips (other speakers)</text>`,
  );
  parts.push(
    `<text x="14" y="${(T + H - B) / 2}" transform="rotate(-90 14 ${(T + H - B) / 2})" text-anchor="middle">UAR on unseen speakers</text>`,
  );
  Object.entries(curve).forEach(([name, pts], i) => {
    const c = colours[name] ?? '#000';
    const d = SIZES.map(
      (n, k) => `${k === 0 ? 'M' : 'L'}${x(n).toFixed(1)},${y(pts[String(n)]!).toFixed(1)}`,
    ).join(' ');
    parts.push(
      `<path d="${d}" fill="none" stroke="${c}" stroke-width="2"${name === 'default head' ? ' stroke-dasharray="5 4"' : ''}/>`,
    );
    for (const n of SIZES)
      parts.push(`<circle cx="${x(n).toFixed(1)}" cy="${y(pts[String(n)]!).toFixed(1)}" r="3" fill="${c}"/>`);
    parts.push(
      `<line x1="${W - R + 14}" x2="${W - R + 34}" y1="${T + 14 + i * 20}" y2="${T + 14 + i * 20}" stroke="${c}" stroke-width="2"/>`,
      `<text x="${W - R + 40}" y="${T + 18 + i * 20}">${name}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

main().catch((e: unknown) => {
  process.stderr.write(`transfer-emodb: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
