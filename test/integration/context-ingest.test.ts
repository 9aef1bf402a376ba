import { noTraining, smallContextHead } from '../support/heads.js';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMOTIONS } from '../../src/core/labels.js';
import { Random } from '../../src/core/random.js';
import { saveHead } from '../../src/head/artifact.js';
import { paramShapes, type ParamStore } from '../../src/head/head-model.js';
import { predictionRecordSchema, type PredictionRecord } from '../../src/pipeline/record.js';
import { emoflow } from '../support/cli.js';

/**
 * `emoflow ingest` with a context head (docs/head.md, Dialogue context): a dialogue listed
 * contiguously is one graph whatever `--batch` is, so scores do not depend on the micro-batch
 * size; split across micro-batches (interleaved in the input) it is scored as separate graphs.
 */

let dir: string;
let runs = 0;
const lines = [
  ['d1_0', 'I cannot believe you did that!', 'd1', '0', 'Ross'],
  ['d1_1', 'What? It was a joke.', 'd1', '1', 'Chandler'],
  ['d1_2', 'A joke? You ruined everything.', 'd1', '2', 'Ross'],
  ['d1_3', 'Okay, okay, I am sorry.', 'd1', '3', 'Chandler'],
  ['lone', 'The weather is nice today.', '', '', ''],
  ['d2_0', 'We won the lottery!', 'd2', '0', 'Monica'],
  ['d2_1', 'No way, really?', 'd2', '1', 'Rachel'],
];

async function ingest(rows: string[][], batch: number): Promise<Map<string, PredictionRecord>> {
  const name = `run${runs++}`;
  const csv = ['id,text,group,order,speaker', ...rows.map((r) => r.map((c) => `"${c}"`).join(','))];
  await writeFile(join(dir, `${name}.csv`), csv.join('\n') + '\n');
  const run = await emoflow([
    'ingest',
    join(dir, `${name}.csv`),
    '--out',
    join(dir, `${name}.jsonl`),
    '--head',
    join(dir, 'head'),
    '--batch',
    String(batch),
    '--concurrency',
    '0',
    '--no-progress',
  ]);
  expect(run.code, run.stderr).toBe(0);
  const text = await readFile(join(dir, `${name}.jsonl`), 'utf8');
  const records = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => predictionRecordSchema.parse(JSON.parse(l)));
  return new Map(records.map((r) => [r.id, r]));
}

function maxDiff(a: PredictionRecord, b: PredictionRecord): number {
  return Math.max(...EMOTIONS.map((e) => Math.abs(a.scores![e] - b.scores![e])));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emoflow-context-ingest-'));
  const desc = smallContextHead(
    [
      {
        modality: 'text',
        spec: { name: 'text-universal-sentence-encoder-lite-mean', version: '1', dim: 512 },
        mean: new Array<number>(512).fill(0),
        std: new Array<number>(512).fill(0.05),
      },
    ],
    16,
    1,
  );
  const rnd = new Random(5);
  const params: ParamStore = new Map();
  for (const s of paramShapes(desc)) {
    const size = s.shape.reduce((a, b) => a * b, 1);
    params.set(
      s.name,
      Float32Array.from({ length: size }, () => rnd.normal() / Math.sqrt(s.fanIn)),
    );
  }
  await saveHead(join(dir, 'head'), desc, params, {
    name: 'context-ingest',
    thresholds: {},
    metrics: {},
    taskModalities: { emotion: ['text'] },
    training: noTraining(),
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('emoflow ingest with a context head', () => {
  it('scores a contiguous dialogue as one graph whatever --batch is; interleaved, as separate graphs', async () => {
    const whole = await ingest(lines, 64);
    const small = await ingest(lines, 2);
    expect([...small.keys()]).toEqual(lines.map((l) => l[0]));
    for (const [id, r] of whole) {
      expect(r.status).toBe('ok');
      expect(maxDiff(r, small.get(id)!), id).toBeLessThan(1e-6);
    }
    // d1 interleaved with d2 and the lone sample, two per micro-batch: d1 is cut into pieces.
    const order = [0, 5, 1, 4, 2, 6, 3];
    const apart = await ingest(
      order.map((k) => lines[k]!),
      2,
    );
    expect(maxDiff(apart.get('lone')!, whole.get('lone')!)).toBeLessThan(1e-6);
    expect(
      Math.max(...['d1_0', 'd1_1', 'd1_2', 'd1_3'].map((id) => maxDiff(apart.get(id)!, whole.get(id)!))),
    ).toBeGreaterThan(1e-4);
  }, 120_000);
});
