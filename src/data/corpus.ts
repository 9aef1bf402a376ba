import type { Sample } from '../core/sample.js';
import { classificationTask, regressionTask, type TaskSpec } from '../core/tasks.js';
import type { DatasetSource } from './feature-dataset.js';

/** The emotion task every emotion corpus maps into (docs/corpora.md). */
export const EMOTION_TASK: TaskSpec = classificationTask('emotion', [
  'anger',
  'disgust',
  'fear',
  'joy',
  'neutral',
  'sadness',
  'surprise',
]);

export const VALENCE_TASK: TaskSpec = regressionTask('valence');
export const AROUSAL_TASK: TaskSpec = regressionTask('arousal');

/**
 * What a corpus adapter returns: samples (inputs as text or paths under `root`, plus docs/ingest.md
 * fields) with their targets, and the tasks those targets belong to.
 *
 * `sample.targets[task]` is, per task type:
 * - classification: a distribution over the task's labels (one-hot, or soft from votes / multi-label rows);
 * - multilabel: 0/1 per label;
 * - regression: the value, already in the task's range.
 * A sample without a target for a task simply lacks that key (partial labels).
 * `sample.truth[task]`, when set, is the class index evaluation scores against instead of the
 * target's argmax (FER+ majority rule), -1 to leave the sample out of that task's evaluation.
 */
export interface Corpus {
  /** `<adapter>:<file or folder name>[#split]`, for messages and head.json. */
  name: string;
  samples: CorpusSample[];
  tasks: TaskSpec[];
  source: DatasetSource;
}

export interface CorpusSample extends Sample {
  targets: Record<string, number | number[]>;
  truth?: Record<string, number>;
}
