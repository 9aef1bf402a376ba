import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { EmoflowError } from '../core/errors.js';
import { loadDataset } from '../data/datasets.js';
import { renderReport, type TrainingLogEntry } from '../eval/report.js';
import { loadHead } from '../head/artifact.js';
import { evaluate, predict } from '../head/evaluate.js';
import { graphSession } from '../head/trainer.js';
import { defineCommand, printJson } from './command.js';
import { cacheFlags, datasetContext } from './dataset-context.js';
import { modelFlags, modelRuntime } from './runtime-flags.js';

export const evalCommand = defineCommand({
  spec: {
    name: 'eval',
    summary:
      'Evaluate a head on a labelled corpus: per task accuracy, macro/weighted F1, UAR, ECE, confusion and per-class figures, or Pearson, CCC, MAE and RMSE; optionally an HTML report.',
    positionals: [],
    flags: {
      head: { type: 'string', value: 'dir', description: 'head folder (head.onnx + head.json) (required)' },
      data: { type: 'string', value: 'spec', description: 'corpus spec to evaluate on (required)' },
      json: {
        type: 'string',
        value: 'file',
        description: 'write the metrics JSON to this file (also printed as the last stdout line)',
      },
      report: {
        type: 'string',
        value: 'file.html',
        description: 'write an HTML report: confusion matrices, reliability diagrams, learning curves',
      },
      'no-progress': { type: 'boolean', description: 'no progress output' },
      ...cacheFlags,
      ...modelFlags,
    },
    examples: [
      'emoflow eval --head heads/mosi --data mosi:../shared/data/multimodal/mosi/valid.jsonl.gz --json mosi-eval.json --report mosi.html',
    ],
  },
  async run({ flags }, io) {
    if (flags.head === undefined)
      throw new EmoflowError('CONFIG_INVALID', 'emoflow eval: --head <dir> is required');
    if (flags.data === undefined)
      throw new EmoflowError('CONFIG_INVALID', 'emoflow eval: --data <spec> is required');
    const head = await loadHead(resolve(flags.head));
    const { factory, store } = modelRuntime(flags, io);
    // Raw corpora are extracted as the head was trained: VAD on or off is part of its audio spec.
    const ds = await loadDataset(
      flags.data,
      datasetContext(io, {
        factory,
        store,
        cacheDir: flags.cache,
        vad: head.json.features.audio?.name.endsWith('-vad') ?? false,
        textModel: flags['text-model'],
        progress: !flags['no-progress'],
      }),
    );
    if (!flags['no-progress'] && io.interactive)
      io.err(`evaluating ${head.json.name} on ${ds.name} (${ds.size} samples)\n`);
    const session = await graphSession(factory, head.onnx);
    const ev = evaluate(head.desc, await predict(session, head.desc, ds), ds, head.json.thresholds);
    await factory.release();
    const result = {
      head: { name: head.json.name, sha256: head.json.sha256 },
      data: ds.name,
      samples: ev.samples,
      tasks: ev.tasks,
    };
    if (flags.json !== undefined) await writeFile(flags.json, JSON.stringify(result, null, 2) + '\n');
    if (flags.report !== undefined) {
      const html = renderReport({
        title: `${head.json.name} on ${ds.name}`,
        head: { name: head.json.name, sha256: head.json.sha256 },
        tasks: ev.tasks,
        reliability: ev.reliability,
        trainingLog: head.json.training.log as unknown as TrainingLogEntry[],
        generated: new Date().toISOString(),
      });
      await writeFile(flags.report, html);
    }
    printJson(io, result);
    return 0;
  },
});
