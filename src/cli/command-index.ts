import type { Command } from './command.js';
import type { FlagSpec } from './flags.js';
import { SUMMARIES, type CommandName } from './command-summaries.js';

/**
 * The CLI's commands as `emoflow --help` lists them: each command's name and summary here (from command-summaries.ts), its
 * implementation (flags, run) in its own module, imported only when that command runs or shows
 * its own --help. `emoflow --version`, `--help` and a light command such as `mfcc` therefore
 * never load onnxruntime, transformers.js, sharp, BullMQ or the dashboard's packages.
 *
 * The summaries live only in command-summaries.ts; each command's spec takes its own from there.
 */
export interface CommandEntry {
  name: CommandName;
  summary: string;
  /** The command's module, imported on use. */
  load: () => Promise<Command<Record<string, FlagSpec>>>;
}

type Loader = { name: CommandName; load: () => Promise<unknown> };

/** Every command, in the order `emoflow --help` lists them. */
export const COMMANDS: readonly CommandEntry[] = (
  [
    { name: 'ingest', load: async () => (await import('./ingest.js')).ingestCommand },
    { name: 'submit', load: async () => (await import('./queue.js')).submitCommand },
    { name: 'status', load: async () => (await import('./queue.js')).statusCommand },
    { name: 'export', load: async () => (await import('./queue.js')).exportCommand },
    { name: 'retry', load: async () => (await import('./queue.js')).retryCommand },
    { name: 'worker', load: async () => (await import('./queue.js')).workerCommand },
    { name: 'dashboard', load: async () => (await import('./dashboard.js')).dashboardCommand },
    { name: 'features', load: async () => (await import('./features.js')).featuresCommand },
    { name: 'train', load: async () => (await import('./train.js')).trainCommand },
    { name: 'eval', load: async () => (await import('./eval.js')).evalCommand },
    { name: 'summarise', load: async () => (await import('./summarise.js')).summariseCommand },
    { name: 'mfcc', load: async () => (await import('./mfcc.js')).mfccCommand },
    { name: 'models list', load: async () => (await import('./models.js')).modelsList },
    { name: 'models verify', load: async () => (await import('./models.js')).modelsVerify },
    { name: 'models fetch', load: async () => (await import('./models.js')).modelsFetch },
    { name: 'bench mfcc', load: async () => (await import('./bench.js')).benchMfccCommand },
    { name: 'bench prosody', load: async () => (await import('./bench.js')).benchProsodyCommand },
    { name: 'bench text', load: async () => (await import('./bench.js')).benchTextCommand },
    { name: 'bench image', load: async () => (await import('./bench.js')).benchImageCommand },
    { name: 'bench head-train', load: async () => (await import('./bench.js')).benchHeadTrainCommand },
    { name: 'bench e2e', load: async () => (await import('./bench.js')).benchE2eCommand },
    { name: 'bench queue', load: async () => (await import('./bench.js')).benchQueueCommand },
    { name: 'bench rss', load: async () => (await import('./bench.js')).benchRssCommand },
    { name: 'bench startup', load: async () => (await import('./bench.js')).benchStartupCommand },
    { name: 'bench timeline', load: async () => (await import('./bench.js')).benchTimelineCommand },
  ] satisfies Loader[]
).map((c) => ({
  name: c.name,
  summary: SUMMARIES[c.name],
  load: c.load as () => Promise<Command<Record<string, FlagSpec>>>,
}));
