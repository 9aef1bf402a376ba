import type { Command } from './command.js';
import type { FlagSpec } from './flags.js';
import { benchImageCommand, benchMfccCommand, benchTextCommand } from './bench.js';
import { featuresCommand } from './features.js';
import { mfccCommand } from './mfcc.js';
import { modelsFetch, modelsList, modelsVerify } from './models.js';

/** Every command of the CLI, in the order `emoflow --help` lists them. */
export const COMMANDS = [
  featuresCommand,
  mfccCommand,
  modelsList,
  modelsVerify,
  modelsFetch,
  benchMfccCommand,
  benchTextCommand,
  benchImageCommand,
] as unknown as readonly Command<Record<string, FlagSpec>>[];
