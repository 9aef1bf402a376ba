// A worker process serving only the `audio` queue: `node dist/workers/audio.worker.js --redis <url> [--prefix p] …`,
// taking every flag of `emoflow worker` but --queues. The same as `emoflow worker --queues audio`.
import { runAsProcess } from '../src/cli/run-process.js';

runAsProcess(['worker', '--queues', 'audio', ...process.argv.slice(2)]);
