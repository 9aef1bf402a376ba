// A worker process serving only the `text` queue: `node dist/workers/text.worker.js --redis <url> [--prefix p] …`,
// taking every flag of `emoflow worker` but --queues. The same as `emoflow worker --queues text`.
import { runAsProcess } from '../src/cli/run-process.js';

runAsProcess(['worker', '--queues', 'text', ...process.argv.slice(2)]);
