/**
 * Does prosody help speech on corpora the head never heard? Leave-one-speech-corpus-out with
 * the default recipe on the speech corpora alone (as scripts/speech-calibration.ts), once with
 * the MFCC statistics the default head uses and once with the `audio-prosody` vector appended
 * (src/features/audio/prosody.ts), each over `--seeds` seeds. Scores: UAR of the held-out corpus
 * under a uniform prior, speakers unknown (the head's global statistics) and known
 * (per-speaker standardisation). The evidence for issue #20's decision; not the shipped path.
 *
 *   npm run build && node dist/scripts/prosody-loco.js [--seeds 1,2,3] [--json out.json]
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EMOTIONS } from '../src/core/labels.js';
import { packageRoot } from '../src/core/package-root.js';
import { loadCorpus, loadDataset } from '../src/data/datasets.js';
import type { FeatureDataset } from '../src/data/feature-dataset.js';
import { applySpeakerNorm } from '../src/data/speaker-norm.js';
import { classificationMetrics } from '../src/eval/metrics.js';
import { PROSODY_DIM, prosodyVector } from '../src/features/audio/prosody.js';
import { resample } from '../src/features/audio/resample.js';
import { loadHead } from '../src/head/artifact.js';
import { predict, truthOf } from '../src/head/evaluate.js';
import { priorFactors, withPriors } from '../src/head/label-prior.js';
import { graphSession } from '../src/head/trainer.js';
import { decodeWav } from '../src/io/wav.js';
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

const SPEECH = ['ravdess', 'emodb', 'emovo', 'nemo'] as const;
const SPLIT = new Set(['emovo', 'nemo']);

/** Each sample's prosody vector by id, from the corpus's own WAVs (16 kHz mono as the MFCCs). */
async function prosodyOf(spec: string): Promise<Map<string, Float32Array>> {
  const corpus = await loadCorpus(spec);
  const out = new Map<string, Float32Array>();
  for (const s of corpus.samples) {
    if (s.audio === undefined) continue;
    const wav = decodeWav(new Uint8Array(await readFile(join(s.root, s.audio))), s.audio);
    const x = wav.sampleRate === 16000 ? wav.mono : resample(wav.mono, wav.sampleRate, 16000);
    out.set(s.id, prosodyVector(x));
  }
  return out;
}

/** The dataset with prosody appended to its audio features (a spec of its own). */
function withProsody(ds: FeatureDataset, prosody: Map<string, Float32Array>): FeatureDataset {
  const audio = ds.features.audio!;
  const dim = audio.spec.dim + PROSODY_DIM;
  const data = new Float32Array(ds.size * dim);
  ds.ids.forEach((id, i) => {
    data.set(audio.data.subarray(i * audio.spec.dim, (i + 1) * audio.spec.dim), i * dim);
    const p = prosody.get(id);
    if (p === undefined) throw new Error(`${ds.name}: no prosody for ${id}`);
    data.set(p, i * dim + audio.spec.dim);
  });
  return {
    ...ds,
    features: {
      ...ds.features,
      audio: { spec: { name: `${audio.spec.name}+prosody`, version: '1', dim }, data },
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { seeds: { type: 'string' }, json: { type: 'string' }, cache: { type: 'string' } },
  });
  const seeds = (values.seeds ?? '1,2,3').split(',').map(Number);
  const cacheDir = values.cache ?? join(packageRoot(), '.cache', 'features');
  const { context, release } = featureContext(cacheDir);
  const sets: Record<
    'mfcc' | 'mfcc+prosody',
    {
      train: Map<string, FeatureDataset>;
      dev: Map<string, FeatureDataset>;
      whole: Map<string, FeatureDataset>;
    }
  > = {
    mfcc: { train: new Map(), dev: new Map(), whole: new Map() },
    'mfcc+prosody': { train: new Map(), dev: new Map(), whole: new Map() },
  };
  for (const key of SPEECH) {
    const spec = CORPORA[key]!.train;
    const prosody = await prosodyOf(spec);
    process.stderr.write(`${key}: prosody of ${prosody.size} clips\n`);
    const whole = keepTasks(await loadDataset(spec, context));
    const train = SPLIT.has(key) ? keepTasks(await loadDataset(`${spec}#train`, context)) : whole;
    const dev = SPLIT.has(key) ? keepTasks(await loadDataset(`${spec}#dev`, context)) : undefined;
    for (const [variant, f] of [
      ['mfcc', (d: FeatureDataset) => d],
      ['mfcc+prosody', (d: FeatureDataset) => withProsody(d, prosody)],
    ] as const) {
      sets[variant].whole.set(key, f(whole));
      sets[variant].train.set(key, f(train));
      if (dev !== undefined) sets[variant].dev.set(key, f(dev));
    }
  }
  await release();

  const rows: Record<string, unknown>[] = [];
  for (const seed of seeds) {
    const { config, repeats } = await readRecipe(undefined, { seed });
    for (const variant of ['mfcc', 'mfcc+prosody'] as const) {
      const s = sets[variant];
      for (const key of SPEECH) {
        const keys = SPEECH.filter((k) => k !== key);
        const mix = defaultMix(
          { train: keys.map((k) => s.train.get(k)!), dev: keys.flatMap((k) => s.dev.get(k) ?? []) },
          config,
          { repeats, pairs: 0 },
        );
        const factory = new SessionFactory({ intraOpThreads: config.threads, interOpThreads: 1 });
        const dir = join(packageRoot(), '.cache', 'prosody-loco', `${variant}-${key}-${seed}`);
        await fitMix(mix, config, factory, { name: `prosody-loco-${key}`, out: dir });
        const head = await loadHead(dir);
        const session = await graphSession(factory, head.onnx);
        const factors = priorFactors(head.desc, head.json.priors, { emotion: 'uniform' });
        const row: Record<string, unknown> = { seed, variant, heldOut: key };
        for (const [speakers, ds] of [
          ['unknown', applySpeakerNorm(anonymous(s.whole.get(key)!), head.json.speakerNorm, false)],
          ['known', applySpeakerNorm(s.whole.get(key)!, head.json.speakerNorm, true)],
        ] as const) {
          const probs = withPriors(await predict(session, head.desc, ds), head.desc, factors).get('emotion')!;
          const m = classificationMetrics(probs, truthOf(ds.tasks['emotion']!, EMOTIONS.length), [
            ...EMOTIONS,
          ]);
          row[`uar_${speakers}`] = Math.round(m.uar * 1e4) / 1e4;
        }
        rows.push(row);
        process.stderr.write(JSON.stringify(row) + '\n');
        await factory.release();
        await rm(dir, { recursive: true, force: true });
      }
    }
  }
  const mean = (variant: string, key: string, field: string) => {
    const v = rows
      .filter((r) => r['variant'] === variant && r['heldOut'] === key)
      .map((r) => r[field] as number);
    return Math.round((v.reduce((a, b) => a + b, 0) / v.length) * 1e4) / 1e4;
  };
  const summary = SPEECH.map((key) => ({
    heldOut: key,
    mfcc: { unknown: mean('mfcc', key, 'uar_unknown'), known: mean('mfcc', key, 'uar_known') },
    'mfcc+prosody': {
      unknown: mean('mfcc+prosody', key, 'uar_unknown'),
      known: mean('mfcc+prosody', key, 'uar_known'),
    },
  }));
  const result = { seeds, rows, summary };
  process.stdout.write(JSON.stringify({ seeds, summary }) + '\n');
  if (values.json !== undefined) await writeFile(values.json, JSON.stringify(result, null, 2) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`prosody-loco: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
