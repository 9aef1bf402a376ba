import { basename } from 'node:path';
import { EmoflowError } from '../../core/errors.js';
import { EMOTIONS } from '../../core/labels.js';
import type { TaskSpec } from '../../core/tasks.js';
import { AROUSAL_TASK, EMOTION_TASK, VALENCE_TASK, type Corpus, type CorpusSample } from '../corpus.js';
import { readManifestSamples } from '../manifest-adapter.js';

const KNOWN: Record<string, TaskSpec> = {
  emotion: EMOTION_TASK,
  valence: VALENCE_TASK,
  arousal: AROUSAL_TASK,
};

/**
 * The generic manifest as a corpus. Label columns become tasks: `emotion` (one of the seven
 * shared labels), `valence` and `arousal` (numbers in [-1, 1]); any other column is a user task:
 * text values make a classification task over its distinct values (sorted), numbers a regression
 * over the range they span. An empty cell leaves that sample without the task (partial labels).
 */
export async function readManifestCorpus(path: string, split: string | undefined): Promise<Corpus> {
  if (split !== undefined)
    throw new EmoflowError('CONFIG_INVALID', `the manifest adapter has no splits (got #${split})`);
  const samples = await readManifestSamples(path);
  const columns = [...new Set(samples.flatMap((s) => Object.keys(s.labels)))].sort();
  const tasks: TaskSpec[] = [];
  const out: CorpusSample[] = samples.map((s) => ({ ...s, targets: {} }));
  for (const col of columns) {
    const values = samples
      .map((s) => s.labels[col])
      .filter((v): v is string | number => v !== null && v !== undefined && v !== '');
    if (values.length === 0) continue;
    const numeric = values.every(
      (v) =>
        typeof v === 'number' || (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))),
    );
    let spec = KNOWN[col];
    if (spec === undefined) {
      if (numeric) {
        const nums = values.map(Number);
        const lo = Math.min(...nums);
        const hi = Math.max(...nums);
        spec = { name: col, type: 'regression', range: [lo, hi > lo ? hi : lo + 1], loss: 'mse', weight: 1 };
      } else {
        spec = {
          name: col,
          type: 'classification',
          labels: [...new Set(values.map(String))].sort(),
          weight: 1,
          labelSmoothing: 0,
          classWeights: 'none',
        };
        if (spec.labels.length < 2) continue;
      }
    }
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(col)) continue; // not a usable task name: stays a plain label
    tasks.push(spec);
    out.forEach((s) => {
      const v = s.labels[col];
      if (v === null || v === undefined || v === '') return;
      if (spec.type === 'regression') {
        const x = Number(v);
        if (!Number.isFinite(x))
          throw new EmoflowError(
            'MANIFEST_INVALID',
            `${path}: sample '${s.id}': column '${col}' must be a number, got '${String(v)}'`,
            { path },
          );
        s.targets[col] = x;
      } else if (spec.type === 'classification') {
        const k = spec.labels.indexOf(String(v));
        if (k < 0) {
          const allowed = col === 'emotion' ? EMOTIONS.join(', ') : spec.labels.join(', ');
          throw new EmoflowError(
            'MANIFEST_INVALID',
            `${path}: sample '${s.id}': '${String(v)}' is not a ${col} label (${allowed})`,
            { path },
          );
        }
        const y = new Array<number>(spec.labels.length).fill(0);
        y[k] = 1;
        s.targets[col] = y;
      }
    });
  }
  return {
    name: `manifest:${basename(path)}`,
    samples: out,
    tasks,
    source: { corpus: 'manifest', path, licence: 'as its owner states' },
  };
}
