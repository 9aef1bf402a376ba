import { EMOTION_TASK } from '../../src/data/corpus.js';
import type { HeadJson } from '../../src/head/artifact.js';
import type { HeadDescription, ModalitySlot } from '../../src/head/head-spec.js';

/**
 * A small gated head with dialogue context (window 1, speaker edges) and the emotion task: the
 * shape the context tests build their heads on.
 */
export function smallContextHead(slots: ModalitySlot[], width: number, layers: number): HeadDescription {
  return {
    slots,
    architecture: {
      hidden: width,
      gate: 4,
      trunk: [width],
      activation: 'gelu',
      fusion: 'gated',
      context: { layers, window: 1, speakerEdges: true, maxGroup: 64 },
    },
    tasks: [{ ...EMOTION_TASK }],
    temperature: { emotion: 1 },
  };
}

/** head.json's training record of a head made up by a test (no corpora, no steps). */
export function noTraining(): HeadJson['training'] {
  return {
    corpora: [],
    dev: null,
    seed: 1,
    config: {},
    init: null,
    freeze: null,
    trained: [],
    steps: 0,
    seconds: 0,
    time: new Date(0).toISOString(),
    log: [],
  };
}
