// A worker process serving only the `fuse` queue: `node dist/workers/fuse.worker.js --redis <url> [--prefix p] …`,
// taking every flag of `emoflow worker` but --queues. The same as `emoflow worker --queues fuse`.
import { runAsProcess } from '../src/cli/run-process.js';

runAsProcess(['worker', '--queues', 'fuse', ...process.argv.slice(2)]);
