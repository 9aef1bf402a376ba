import type { Command } from './command.js';
import type { FlagSpec } from './flags.js';
import {
  benchE2eCommand,
  benchQueueCommand,
  benchRssCommand,
  benchHeadTrainCommand,
  benchImageCommand,
  benchMfccCommand,
  benchProsodyCommand,
  benchTextCommand,
} from './bench.js';
import { dashboardCommand } from './dashboard.js';
import { evalCommand } from './eval.js';
import { featuresCommand } from './features.js';
import { ingestCommand } from './ingest.js';
import { exportCommand, retryCommand, statusCommand, submitCommand, workerCommand } from './queue.js';
import { trainCommand } from './train.js';
import { mfccCommand } from './mfcc.js';
import { modelsFetch, modelsList, modelsVerify } from './models.js';

/** Every command of the CLI, in the order `emoflow --help` lists them. */
export const COMMANDS = [
  ingestCommand,
  submitCommand,
  statusCommand,
  exportCommand,
  retryCommand,
  workerCommand,
  dashboardCommand,
  featuresCommand,
  trainCommand,
  evalCommand,
  mfccCommand,
  modelsList,
  modelsVerify,
  modelsFetch,
  benchMfccCommand,
  benchProsodyCommand,
  benchTextCommand,
  benchImageCommand,
  benchHeadTrainCommand,
  benchE2eCommand,
  benchQueueCommand,
  benchRssCommand,
] as unknown as readonly Command<Record<string, FlagSpec>>[];
