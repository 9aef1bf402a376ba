import * as ort from 'onnxruntime-node';
import {
  LEXICAL_MAX_IDS,
  LEXICAL_TAIL,
  lexicalBucketsOfSpec,
  unpackLexicalRows,
} from '../features/text/lexical.js';
import type { ModalitySlot } from './head-spec.js';

/**
 * How a slot's feature vector reaches the head: `dense` values standardised and projected, and
 * for a text spec with the lexical channel (`+lex<buckets>`), the packed bag after them, which
 * the head takes as two inputs of its own: `text_ids` [N, 256] int64 and `text_weights` [N, 256].
 */
export interface SlotLayout {
  dense: number;
  lexical?: { buckets: number; maxIds: number };
}

export function slotLayout(slot: Pick<ModalitySlot, 'modality' | 'spec'>): SlotLayout {
  const buckets = slot.modality === 'text' ? lexicalBucketsOfSpec(slot.spec.name) : undefined;
  return buckets === undefined
    ? { dense: slot.spec.dim }
    : { dense: slot.spec.dim - LEXICAL_TAIL, lexical: { buckets, maxIds: LEXICAL_MAX_IDS } };
}

/** Names of a slot's lexical inputs. */
export function lexicalInputNames(slot: Pick<ModalitySlot, 'modality'>): { ids: string; weights: string } {
  return { ids: `${slot.modality}_ids`, weights: `${slot.modality}_weights` };
}

/**
 * The head's feeds for a slot from `n` full rows (n × spec.dim, as extracted): the dense part
 * under the modality's name, and the lexical inputs where the slot has the channel.
 */
export function slotFeeds(
  slot: Pick<ModalitySlot, 'modality' | 'spec'>,
  rows: Float32Array,
  n: number,
): Record<string, ort.Tensor> {
  const layout = slotLayout(slot);
  const dim = slot.spec.dim;
  if (layout.lexical === undefined) return { [slot.modality]: new ort.Tensor('float32', rows, [n, dim]) };
  const dense = new Float32Array(n * layout.dense);
  for (let r = 0; r < n; r++) dense.set(rows.subarray(r * dim, r * dim + layout.dense), r * layout.dense);
  const { ids, weights } = unpackLexicalRows(rows, dim, layout.dense, n);
  const names = lexicalInputNames(slot);
  const k = layout.lexical.maxIds;
  return {
    [slot.modality]: new ort.Tensor('float32', dense, [n, layout.dense]),
    [names.ids]: new ort.Tensor('int64', ids, [n, k]),
    [names.weights]: new ort.Tensor('float32', weights, [n, k]),
  };
}
