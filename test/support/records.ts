import { readFile } from 'node:fs/promises';
import { predictionRecordSchema, type PredictionRecord } from '../../src/pipeline/record.js';

/** The records of a JSONL output, each checked against the record schema. */
export async function readRecords(path: string): Promise<PredictionRecord[]> {
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => predictionRecordSchema.parse(JSON.parse(l)));
}

/** What must agree between runtimes: status, labels and each modality's outcome (label or error code). */
export function recordOutcome(r: PredictionRecord) {
  return {
    status: r.status,
    label: r.label,
    modalities: Object.fromEntries(
      Object.entries(r.modalities).map(([m, x]) => [
        m,
        x === undefined ? null : x.status === 'ok' ? x.label : x.error.code,
      ]),
    ),
  };
}
