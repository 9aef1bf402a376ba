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
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EMOTIONS } from '../src/core/labels.js';
import { packageRoot } from '../src/core/package-root.js';
import { loadCorpus } from '../src/data/datasets.js';
import type { FeatureDataset } from '../src/data/feature-dataset.js';
import { applySpeakerNorm } from '../src/data/speaker-norm.js';
import { classificationMetrics } from '../src/eval/metrics.js';
import { PROSODY_DIM, prosodyVector } from '../src/features/audio/prosody.js';
import { resample } from '../src/features/audio/resample.js';
import { predict, truthOf } from '../src/head/evaluate.js';
import { priorFactors, withPriors } from '../src/head/label-prior.js';
import { decodeWav } from '../src/io/wav.js';
import { CORPORA, anonymous, featureContext, readRecipe } from './train-default.js';
import { SPEECH, loadSpeechSets, mapSpeechSets, withFoldHead, type SpeechCorpus } from './speech-folds.js';

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
  // The MFCC statistics alone: this script appends prosody itself.
  const { context, release } = featureContext(cacheDir, { prosody: false, lexicalBuckets: null });
  const mfcc = await loadSpeechSets(context);
  await release();
  const prosody = new Map<SpeechCorpus, Map<string, Float32Array>>();
  for (const key of SPEECH) {
    prosody.set(key, await prosodyOf(CORPORA[key]!.train));
    process.stderr.write(`${key}: prosody of ${prosody.get(key)!.size} clips\n`);
  }
  const sets = {
    mfcc,
    'mfcc+prosody': mapSpeechSets(mfcc, (key, ds) => withProsody(ds, prosody.get(key)!)),
  };

  const rows: Record<string, unknown>[] = [];
  for (const seed of seeds) {
    const { config, repeats } = await readRecipe(undefined, { seed });
    for (const variant of ['mfcc', 'mfcc+prosody'] as const) {
      const s = sets[variant];
      for (const key of SPEECH) {
        const row: Record<string, unknown> = { seed, variant, heldOut: key };
        await withFoldHead(s, key, { config, repeats }, `prosody-loco-${variant}`, async (head, session) => {
          const factors = priorFactors(head.desc, head.json.priors, { emotion: 'uniform' });
          for (const [speakers, ds] of [
            ['unknown', applySpeakerNorm(anonymous(s.whole.get(key)!), head.json.speakerNorm, false)],
            ['known', applySpeakerNorm(s.whole.get(key)!, head.json.speakerNorm, true)],
          ] as const) {
            const probs = withPriors(await predict(session, head.desc, ds), head.desc, factors).get(
              'emotion',
            )!;
            const m = classificationMetrics(probs, truthOf(ds.tasks['emotion']!, EMOTIONS.length), [
              ...EMOTIONS,
            ]);
            row[`uar_${speakers}`] = Math.round(m.uar * 1e4) / 1e4;
          }
        });
        rows.push(row);
        process.stderr.write(JSON.stringify(row) + '\n');
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
