/**
 * A worker thread of the embedded runtime: loads the extractors once, then extracts the
 * micro-batches of samples it is sent (reading their files itself) and posts back the
 * features. CPU-heavy work (MFCC, image decoding, the extractors' ONNX runs) happens here, so
 * that several cores work at once and the main thread stays free to schedule and write.
 *
 * The thread never ends itself abruptly: a model that fails to load is reported and the thread
 * then exits on its own once its sessions are released (a thread terminated from outside while
 * onnxruntime creates a session aborts the whole process). A micro-batch that throws is
 * reported as `failed` and the pool retries its samples one by one.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EmoflowError } from '../../core/errors.js';
import { extractRead, readSamples } from '../../pipeline/extract.js';
import { loadExtractors, readOptionsOf } from './extract-pool.js';
import type { ExtractWorkerInit, FromWorker, ToWorker } from './protocol.js';

const port = parentPort!;
const init = workerData as ExtractWorkerInit;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

function errorOf(e: unknown): { code: string; message: string } {
  return e instanceof EmoflowError
    ? { code: e.code, message: e.message }
    : { code: 'INTERNAL', message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
}

async function main(): Promise<void> {
  let loaded: Awaited<ReturnType<typeof loadExtractors>>;
  try {
    loaded = await loadExtractors(init, (warning) => post({ type: 'warning', warning }));
  } catch (e) {
    // Nothing listens on the port: the thread exits by itself once this message is out.
    post({ type: 'fatal', error: errorOf(e) });
    port.close();
    return;
  }
  const { factory, extractors } = loaded;
  const modalities = extractors.map((e) => e.modality);
  const readOptions = readOptionsOf(init);
  let chain: Promise<void> = Promise.resolve();
  let stopping = false;
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'stop') {
      // Batches still queued are dropped (the pool has given up on them); the one running ends.
      stopping = true;
      void chain.finally(() => factory.release()).finally(() => port.close());
      return;
    }
    // Files are read as soon as a batch arrives, overlapping the extraction of the one before.
    const read = readSamples(msg.samples, modalities, readOptions);
    read.catch(() => undefined);
    chain = chain.then(async () => {
      if (stopping) return;
      try {
        const t0 = performance.now();
        const features = await extractRead(await read, extractors);
        const transfer: ArrayBuffer[] = [];
        for (const f of features)
          for (const m of Object.values(f.modalities))
            if (m?.status === 'ok') transfer.push(m.vector.buffer as ArrayBuffer);
        post({ type: 'result', id: msg.id, features, seconds: (performance.now() - t0) / 1000 }, transfer);
      } catch (e) {
        if (e instanceof EmoflowError && e.fatal) post({ type: 'fatal', error: errorOf(e) });
        else post({ type: 'failed', id: msg.id, error: errorOf(e) });
      }
    });
  });
  post({
    type: 'ready',
    specs: extractors.map((e) => ({ modality: e.modality, spec: e.spec })),
    device: factory.effectiveDevice,
  });
}

void main();
