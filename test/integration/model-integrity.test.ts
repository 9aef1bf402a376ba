/**
 * A corrupt or missing model file (issue #19) used to abort the process from the extraction
 * threads (`terminate called after throwing an instance of 'Napi::Error'`, exit 134) at any
 * concurrency but 0. Now the files are checked on the main thread before any thread or native
 * session sees them: MODEL_CHECKSUM / MODEL_NOT_FOUND with the command that fixes it, exit 1,
 * for `emoflow ingest` at every concurrency and for `emoflow worker`. The model folders are
 * copies of the repository's models/ with one byte flipped or one file deleted.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/paths.js';
import { emoflowWithin, type TimedRun } from '../support/spawn-cli.js';

const work = mkdtempSync(join(tmpdir(), 'emoflow-models-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const DEADLINE = 90_000;
const examples = join(repoRoot, 'examples');

const corrupt = join(work, 'corrupt');
const missing = join(work, 'missing');
const badText = join(work, 'bad-text', 'universal-sentence-encoder-lite');

function flipByte(path: string, at: number): void {
  const b = readFileSync(path);
  b[at] = b[at]! ^ 0xff;
  writeFileSync(path, b);
}

beforeAll(() => {
  cpSync(join(repoRoot, 'models'), corrupt, { recursive: true });
  flipByte(join(corrupt, 'ultraface_rfb320.onnx'), 1000);
  cpSync(join(repoRoot, 'models'), missing, { recursive: true });
  rmSync(join(missing, 'universal-sentence-encoder-lite', 'tokenizer.json'));
  // A text model folder that is none of the store's: no checksum to check, so its ONNX file
  // reaches onnxruntime, which must fail to load it without taking the process down.
  cpSync(join(repoRoot, 'models', 'universal-sentence-encoder-lite'), badText, { recursive: true });
  const onnx = join(badText, 'onnx', 'model.onnx');
  for (let i = 5000; i < 6000; i++) flipByte(onnx, i);
});

function expectFatal(r: TimedRun, line: RegExp): void {
  expect(r.timedOut, 'the run hung').toBe(false);
  expect(r.stderr).not.toContain('terminate called');
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).toMatch(line);
}

const CHECKSUM = new RegExp(
  `^emoflow: MODEL_CHECKSUM: model file ${corrupt}/ultraface_rfb320\\.onnx \\(model 'ultraface_rfb320'\\) has sha256 [0-9a-f]{64}, expected 22bd2fbe053a8e54d54b44b25901f0f6260059ac9ae7d3cc8720f5f7c0d936fa; run: emoflow models fetch ultraface_rfb320`,
  'm',
);

describe('emoflow ingest --models-dir with a broken model store', () => {
  it.each([0, 1, 2, 2, 2, 3])(
    'a flipped byte is MODEL_CHECKSUM with the fix command at --concurrency %i',
    async (c) => {
      const r = await emoflowWithin(
        [
          'ingest',
          examples,
          '--out',
          join(work, `c${c}-${Math.random()}.jsonl`),
          '--models-dir',
          corrupt,
          '--concurrency',
          String(c),
        ],
        { timeoutMs: DEADLINE },
      );
      expectFatal(r, CHECKSUM);
    },
    DEADLINE + 10_000,
  );

  it(
    'a deleted tokenizer.json is MODEL_NOT_FOUND with the fix command at --concurrency 2',
    async () => {
      const r = await emoflowWithin(
        [
          'ingest',
          examples,
          '--out',
          join(work, 'missing.jsonl'),
          '--models-dir',
          missing,
          '--concurrency',
          '2',
        ],
        { timeoutMs: DEADLINE },
      );
      expectFatal(
        r,
        new RegExp(
          `^emoflow: MODEL_NOT_FOUND: model file ${missing}/universal-sentence-encoder-lite/tokenizer\\.json \\(model 'universal-sentence-encoder-lite'\\) is missing; run: emoflow models fetch universal-sentence-encoder-lite`,
          'm',
        ),
      );
    },
    DEADLINE + 10_000,
  );

  it.each([0, 2])(
    'a corrupt --text-model folder outside the store fails to load in every thread, reported, at --concurrency %i',
    async (c) => {
      const r = await emoflowWithin(
        [
          'ingest',
          examples,
          '--out',
          join(work, `t${c}.jsonl`),
          '--text-model',
          badText,
          '--concurrency',
          String(c),
        ],
        { timeoutMs: DEADLINE },
      );
      expectFatal(
        r,
        new RegExp(
          `^emoflow: MODEL_NOT_FOUND: cannot load text model '${badText}': Load model from .*model\\.onnx failed`,
          'm',
        ),
      );
    },
    DEADLINE + 10_000,
  );
});

/** Whether Redis answers on 127.0.0.1:6379 (the queue worker connects before it loads models). */
function redisUp(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port: 6379 });
    s.setTimeout(1000);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

describe('emoflow worker --models-dir with a broken model store', () => {
  it.for([0, 2])(
    'stops with MODEL_CHECKSUM and exit 1 at --concurrency %i',
    { timeout: DEADLINE + 10_000 },
    async (c, ctx) => {
      if (!(await redisUp())) ctx.skip('no Redis on 127.0.0.1:6379');
      const r = await emoflowWithin(
        [
          'worker',
          '--models-dir',
          corrupt,
          '--concurrency',
          String(c),
          '--prefix',
          `emoflow-test-models-${process.pid}-${c}`,
        ],
        { timeoutMs: DEADLINE },
      );
      expectFatal(r, CHECKSUM);
    },
  );
});
