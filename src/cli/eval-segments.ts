import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMOTIONS } from '../core/labels.js';
import { argmaxRow } from '../core/numerics.js';
import { loadCorpus } from '../data/datasets.js';
import { classificationMetrics, type ClassificationMetrics } from '../eval/metrics.js';
import type { PriorChoice } from '../head/label-prior.js';
import type { Device } from '../models/session-factory.js';
import type { PredictionRecord } from '../pipeline/record.js';
import { ingest } from '../runtime/embedded/ingest.js';

/**
 * `emoflow eval --segments`: a labelled corpus scored as ingest --segments scores recordings
 * (docs/timelines.md), each file's summed-up label against the file's emotion label. What it
 * tells: whether scoring by segments keeps what the head does with whole clips, on a corpus of
 * known labels. Samples without an emotion label, or whose record failed, are left out and
 * counted.
 */
export interface SegmentEval {
  data: string;
  samples: number;
  excluded: { count: number; ids: string[] };
  segments: { total: number; perFile: number; filesWithoutSpeech: number };
  tasks: { emotion: ClassificationMetrics };
}

export async function evalSegments(options: {
  head: string;
  data: string;
  device: Device;
  threads: number;
  modelsDir?: string;
  textModel?: string;
  speakerNorm: 'auto' | 'off';
  prior?: PriorChoice;
}): Promise<SegmentEval> {
  const corpus = await loadCorpus(options.data);
  const truthOf = new Map<string, number>();
  for (const s of corpus.samples) {
    const explicit = s.truth?.['emotion'];
    const target = s.targets['emotion'];
    const t =
      explicit !== undefined
        ? explicit
        : Array.isArray(target)
          ? argmaxRow(target, 0, EMOTIONS.length)
          : undefined;
    if (t !== undefined && t >= 0) truthOf.set(s.id, t);
  }
  const dir = await mkdtemp(join(tmpdir(), 'emoflow-eval-segments-'));
  try {
    const out = join(dir, 'records.jsonl');
    await ingest({
      input: options.data,
      out,
      format: 'jsonl',
      mode: 'new',
      head: options.head,
      device: options.device,
      threads: options.threads,
      segments: true,
      speakerNorm: options.speakerNorm,
      ...(options.modelsDir === undefined ? {} : { modelsDir: options.modelsDir }),
      ...(options.textModel === undefined ? {} : { textModel: options.textModel }),
      ...(options.prior === undefined ? {} : { prior: options.prior }),
    });
    const records = (await readFile(out, 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as PredictionRecord);
    const isScored = (r: PredictionRecord) => r.scores !== null && truthOf.has(r.id);
    const scored = records.filter(isScored);
    const excluded = records.filter((r) => !isScored(r)).map((r) => r.id);
    const probs = new Float32Array(scored.length * EMOTIONS.length);
    const truth = new Int32Array(scored.length);
    scored.forEach((r, i) => {
      EMOTIONS.forEach((e, c) => (probs[i * EMOTIONS.length + c] = r.scores![e]));
      truth[i] = truthOf.get(r.id)!;
    });
    const total = records.reduce((n, r) => n + (r.segments?.length ?? 0), 0);
    return {
      data: corpus.name,
      samples: scored.length,
      excluded: { count: excluded.length, ids: excluded.slice(0, 100) },
      segments: {
        total,
        perFile: records.length > 0 ? total / records.length : 0,
        filesWithoutSpeech: records.filter((r) => r.segments !== undefined && r.segments.length === 0).length,
      },
      tasks: { emotion: classificationMetrics(probs, truth, EMOTIONS) },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
