import type { Modality } from '../core/labels.js';
import type { FeatureSpec } from '../features/feature-spec.js';
import type { TaskSpec } from '../core/tasks.js';

/** Labels of one task over a dataset. */
export interface TaskLabels {
  spec: TaskSpec;
  /** Classification / multi-label: N x C targets (soft or 0/1). Regression: N values. */
  targets: Float32Array;
  /** 1 where the sample has a label for this task (partial labels train only their tasks). */
  has: Uint8Array;
  /**
   * The class index evaluation scores against, when it differs from the argmax of the soft
   * target (FER+ majority rule); -1 = excluded from evaluation.
   */
  truth?: Int32Array;
  /**
   * 1 for rows whose soft target is a label set (GoEmotions' multi-label rows and their corpus):
   * evaluation scores them as sets (argmax plus classes over their thresholds).
   */
  multiLabel?: Uint8Array;
  /**
   * Training only, N x C: the log class prior of each row's corpus, added to the logits in the
   * loss (logit adjustment, src/head/label-prior.ts); absent = 0 (no adjustment).
   */
  logPrior?: Float32Array;
}

/** Where a dataset came from, for head.json's training record. */
export interface DatasetSource {
  corpus: string;
  path: string;
  split?: string;
  licence: string;
}

/**
 * Feature vectors and labels of a corpus, ready for training and evaluation: the unit that
 * `emoflow train` and `emoflow eval` consume, whatever adapter built it.
 */
export interface FeatureDataset {
  name: string;
  size: number;
  ids: string[];
  /** The dialogue or video of each sample (context and group cross-validation). */
  groups?: string[];
  /** Who speaks or is shown, where known (RAVDESS actor, EmoDB speaker, MELD speaker). */
  speakers?: string[];
  order?: Int32Array;
  /** Per present modality: its feature spec and N x dim values (zeros where absent). */
  features: Partial<Record<Modality, { spec: FeatureSpec; data: Float32Array }>>;
  /** N x 3 presence, order text, image, audio. */
  mask: Uint8Array;
  tasks: Record<string, TaskLabels>;
  source: DatasetSource;
}
