// A worker process serving only the `image` queue: `node dist/workers/image.worker.js --redis <url> [--prefix p] …`,
// taking every flag of `emoflow worker` but --queues. The same as `emoflow worker --queues image`.
import { runAsProcess } from '../src/cli/run-process.js';

runAsProcess(['worker', '--queues', 'image', ...process.argv.slice(2)]);
