/**
 * A worker thread of the embedded runtime: loads the extractors once, then extracts the
 * micro-batches of samples it is sent (reading their files itself) and posts back the
 * features. CPU-heavy work (MFCC, image decoding, the extractors' ONNX runs) happens here, so
 * that several cores work at once and the main thread stays free to schedule and write.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EmoflowError } from '../../core/errors.js';
import { extractRead, readSamples } from '../../pipeline/extract.js';
import { loadExtractors } from './extract-pool.js';
import type { ExtractWorkerInit, FromWorker, ToWorker } from './protocol.js';

const port = parentPort!;
const init = workerData as ExtractWorkerInit;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

function fatal(e: unknown): void {
  const error =
    e instanceof EmoflowError
      ? { code: e.code, message: e.message }
      : { code: 'INTERNAL', message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  post({ type: 'fatal', error });
}

async function main(): Promise<void> {
  const { factory, extractors } = await loadExtractors(init, (warning) => post({ type: 'warning', warning }));
  const modalities = extractors.map((e) => e.modality);
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'stop') {
      void chain.finally(() => factory.release()).finally(() => port.close());
      return;
    }
    // Files are read as soon as a batch arrives, overlapping the extraction of the one before.
    const read = readSamples(msg.samples, modalities);
    read.catch(() => undefined);
    chain = chain
      .then(async () => {
        const t0 = performance.now();
        const features = await extractRead(await read, extractors);
        const transfer: ArrayBuffer[] = [];
        for (const f of features)
          for (const m of Object.values(f.modalities))
            if (m?.status === 'ok') transfer.push(m.vector.buffer as ArrayBuffer);
        post({ type: 'result', id: msg.id, features, seconds: (performance.now() - t0) / 1000 }, transfer);
      })
      .catch(fatal);
  });
  post({
    type: 'ready',
    specs: extractors.map((e) => ({ modality: e.modality, spec: e.spec })),
    device: factory.effectiveDevice,
  });
}

main().catch(fatal);
