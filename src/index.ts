/**
 * emoflow as a library: the queue API for Node services (submit, status, exportBatch), the
 * embedded runtime, the job and record schemas, and their types.
 */
export { submit, status, exportBatch, type QueueTarget, type ExportOptions } from './runtime/queue/api.js';
export type { BatchStatus } from './runtime/queue/store.js';
export type { SubmitResult } from './runtime/queue/submit.js';
export { ingest, type IngestOptions, type IngestSummary } from './runtime/embedded/ingest.js';
export {
  fuseJobSchema,
  jobInputSchema,
  jsonSchemas,
  modalityJobSchema,
  modalityResultSchema,
  type FuseJob,
  type JobInput,
  type ModalityJob,
} from './runtime/queue/schemas.js';
export { fuseJobId, modalityJobId, deriveBatchId, batchKeys } from './runtime/queue/keys.js';
export { QUEUE_NAMES, DEFAULT_PREFIX } from './runtime/queue/connection.js';
export { queueLayout, type QueueLayout } from './runtime/queue/layout.js';
export { shardOfBatch, shardPrefixes } from './runtime/queue/shards.js';
export { predictionRecordSchema, type PredictionRecord } from './pipeline/record.js';
export { EmoflowError, ERROR_CODES, type ErrorCode } from './core/errors.js';
export { EMOTIONS, MODALITIES, type Emotion, type Modality } from './core/labels.js';
