import { EMOTIONS, MODALITIES } from '../core/labels.js';
import type { PredictionRecord } from '../pipeline/record.js';

/** Floats in exports carry 4 decimals (docs/ingest.md); nothing else is rounded. */
export function round4(x: number): number {
  const r = Math.round(x * 1e4) / 1e4;
  return Object.is(r, -0) ? 0 : r;
}

/** A record with every float rounded to 4 decimals (JSONL output). */
export function roundRecord(record: PredictionRecord): PredictionRecord {
  return roundDeep(record) as PredictionRecord;
}

function roundDeep(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? v : round4(v);
  if (Array.isArray(v)) return v.map(roundDeep);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = roundDeep(x);
    return out;
  }
  return v;
}

export type CellType = 'string' | 'double';

/** The flat columns of CSV and Parquet (docs/ingest.md), with their types. */
export const FLAT_COLUMNS: readonly { name: string; type: CellType }[] = [
  { name: 'id', type: 'string' },
  { name: 'status', type: 'string' },
  { name: 'label', type: 'string' },
  ...EMOTIONS.map((e) => ({ name: e, type: 'double' as const })),
  { name: 'valence', type: 'double' },
  { name: 'arousal', type: 'double' },
  ...MODALITIES.map((m) => ({ name: `${m}_label`, type: 'string' as const })),
  ...MODALITIES.map((m) => ({ name: `${m}_error`, type: 'string' as const })),
  // A timeline's segments (docs/timelines.md): one row each before their file's row; empty on other rows.
  { name: 'parent', type: 'string' },
  { name: 'segment', type: 'double' },
  { name: 'start', type: 'double' },
  { name: 'end', type: 'double' },
];

export type FlatRow = Record<string, string | number | null>;

/**
 * One record as flat rows: with segments one row per segment (id `<id>#<n>`, `parent` the
 * record's id, `segment` n from 1, `start` and `end` in seconds, the segment's label, scores,
 * valence and arousal, and its label as `audio_label`), then its own row. The record's own row
 * comes last so that it closes the record: a CSV cut short holds a record's row only with all
 * its segments before it (resume drops segment rows left without their record's row).
 */
export function flattenRows(r: PredictionRecord): FlatRow[] {
  const rows: FlatRow[] = [];
  r.segments?.forEach((s, k) => {
    const row: FlatRow = { id: `${r.id}#${k + 1}`, status: 'ok', label: s.label };
    for (const e of EMOTIONS) row[e] = round4(s.scores[e]);
    row['valence'] = s.valence === null ? null : round4(s.valence);
    row['arousal'] = s.arousal === null ? null : round4(s.arousal);
    for (const m of MODALITIES) row[`${m}_label`] = m === 'audio' ? s.label : null;
    for (const m of MODALITIES) row[`${m}_error`] = null;
    Object.assign(row, { parent: r.id, segment: k + 1, start: round4(s.start), end: round4(s.end) });
    rows.push(row);
  });
  rows.push(flatten(r));
  return rows;
}

/** One record as a flat row: fused scores, each modality's label or error code; floats rounded. */
export function flatten(r: PredictionRecord): FlatRow {
  const row: FlatRow = { id: r.id, status: r.status, label: r.label };
  for (const e of EMOTIONS) row[e] = r.scores === null ? null : round4(r.scores[e]);
  row['valence'] = r.valence === null ? null : round4(r.valence);
  row['arousal'] = r.arousal === null ? null : round4(r.arousal);
  for (const m of MODALITIES) {
    const x = r.modalities[m];
    row[`${m}_label`] = x?.status === 'ok' ? x.label : null;
  }
  for (const m of MODALITIES) {
    const x = r.modalities[m];
    row[`${m}_error`] = x?.status === 'error' ? x.error.code : null;
  }
  Object.assign(row, { parent: null, segment: null, start: null, end: null });
  return row;
}
