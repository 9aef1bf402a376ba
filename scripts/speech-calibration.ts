/**
 * How overconfident speech scores are on a corpus the head never heard, and the audio temperature
 * that fixes it (issue #19: "anger 1.0 on a thank-you call").
 *
 * A head's temperature is fitted on its dev data, which for speech is held-out speakers of the
 * training corpora; on another corpus (another language, microphone, acting style) the scores are
 * far more confident than right. Leave-one-speech-corpus-out: each fold trains the default recipe
 * on the other speech corpora alone (EMOVO and nEMO's #dev speakers as dev data, where in the fold)
 * and scores the held-out corpus with speakers unknown under a uniform prior. The extra
 * temperature k (softmax(log p / k)) is fitted on the pooled held-out rows of the other folds
 * and checked on each fold's own (leave-one-fold-out), then on all four for the shipped value.
 *
 *   npm run build && node dist/scripts/speech-calibration.js [--json out.json] [--write models/heads/default]
 *
 * `--write <head>` records the pooled k as head.json `modalityTemperature.audio` (applied by
 * ingest, the queue worker and eval: src/head/calibration.ts `temperByModality`).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EMOTIONS } from '../src/core/labels.js';
import { packageRoot } from '../src/core/package-root.js';
import { applySpeakerNorm } from '../src/data/speaker-norm.js';
import { classificationMetrics } from '../src/eval/metrics.js';
import { fitTemperature, temperByModality } from '../src/head/calibration.js';
import { predict, truthOf } from '../src/head/evaluate.js';
import { priorFactors, withPriors } from '../src/head/label-prior.js';
import { anonymous, featureContext, readRecipe } from './train-default.js';
import { SPEECH, loadSpeechSets, withFoldHead } from './speech-folds.js';

interface Held {
  corpus: string;
  logits: Float32Array;
  contribution: Float32Array;
  truth: Int32Array;
}

function figures(h: Held, k: number) {
  const p = Float32Array.from(h.logits, (v) => Math.exp(v));
  temperByModality(p, h.contribution, EMOTIONS.length, { audio: k });
  const m = classificationMetrics(p, h.truth, [...EMOTIONS]);
  let nll = 0;
  let n = 0;
  h.truth.forEach((t, i) => {
    if (t < 0) return;
    nll -= Math.log(Math.max(p[i * EMOTIONS.length + t]!, 1e-30));
    n++;
  });
  const r = (v: number) => Math.round(v * 1e4) / 1e4;
  return {
    accuracy: r(m.accuracy),
    uar: r(m.uar),
    confidence: r(m.confidence),
    ece: r(m.ece),
    nll: r(nll / n),
  };
}

/** k fitted on the pooled rows of `sets`. */
function fitK(sets: readonly Held[]): number {
  const n = sets.reduce((a, s) => a + s.truth.length, 0);
  const logits = new Float32Array(n * EMOTIONS.length);
  const truth = new Int32Array(n);
  let at = 0;
  for (const s of sets) {
    logits.set(s.logits, at * EMOTIONS.length);
    truth.set(s.truth, at);
    at += s.truth.length;
  }
  return fitTemperature(logits, truth, EMOTIONS.length).temperature;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'string' },
      write: { type: 'string' },
      cache: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    process.stdout.write(
      'Usage: node dist/scripts/speech-calibration.js [--json out.json] [--write <head dir>] [--cache dir]\n' +
        'Leave-one-speech-corpus-out calibration of speech scores (see the header of scripts/speech-calibration.ts).\n',
    );
    return;
  }
  const cacheDir = values.cache ?? join(packageRoot(), '.cache', 'features');
  const { config, repeats, features } = await readRecipe(undefined);
  const { context, release } = featureContext(cacheDir, features);
  const sets = await loadSpeechSets(context);
  await release();

  const held: Held[] = [];
  for (const key of SPEECH) {
    held.push(
      await withFoldHead(sets, key, { config, repeats }, 'speech-calibration', async (head, session) => {
        // Speakers unknown (the head's global statistics), uniform prior: a user's folder of calls.
        const ds = applySpeakerNorm(anonymous(sets.whole.get(key)!), head.json.speakerNorm, false);
        const outputs = await predict(session, head.desc, ds);
        const factors = priorFactors(head.desc, head.json.priors, { emotion: 'uniform' });
        const probs = withPriors(outputs, head.desc, factors).get('emotion')!;
        return {
          corpus: key,
          logits: Float32Array.from(probs, (p) => Math.log(Math.max(p, 1e-30))),
          contribution: outputs.get('contribution')!,
          truth: truthOf(ds.tasks['emotion']!, EMOTIONS.length),
        };
      }),
    );
  }

  const folds = held.map((h) => {
    const k = fitK(held.filter((o) => o !== h));
    return {
      heldOut: h.corpus,
      samples: h.truth.length,
      k: Math.round(k * 1e3) / 1e3,
      before: figures(h, 1),
      after: figures(h, k),
    };
  });
  const pooled = fitK(held);
  const result = {
    recipe: 'default head config, speech corpora only, speakers unknown, uniform prior',
    folds,
    pooledK: Math.round(pooled * 1e3) / 1e3,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
  if (values.json !== undefined) await writeFile(values.json, JSON.stringify(result, null, 2) + '\n');
  if (values.write !== undefined) {
    const path = join(values.write, 'head.json');
    const json = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    json['modalityTemperature'] = { audio: result.pooledK };
    await writeFile(path, JSON.stringify(json, null, 2) + '\n');
    process.stderr.write(`${path}: modalityTemperature.audio = ${result.pooledK}\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`speech-calibration: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
