import { resolve } from 'node:path';
import { defineCommand, printJson } from './command.js';
import { modelsDirFlag, openModelStore } from './runtime-flags.js';
import { SUMMARIES } from './command-summaries.js';

const storeFlag = {
  ...modelsDirFlag,
  json: { type: 'boolean', description: 'print one JSON line' },
} as const;

export const modelsList = defineCommand({
  spec: {
    name: 'models list',
    summary: SUMMARIES['models list'],
    positionals: [],
    flags: storeFlag,
  },
  async run({ flags }, io) {
    const store = openModelStore(flags['models-dir']);
    const models = store.manifest.models.map((m) => ({
      name: m.name,
      format: m.format,
      task: m.task,
      bytes: m.files.reduce((a, f) => a + f.bytes, 0),
      licence: m.licence,
      files: m.files.map((f) => f.path),
    }));
    if (flags.json) printJson(io, { dir: store.dir, models });
    else {
      io.out(`model store: ${store.dir}\n`);
      for (const m of models)
        io.out(
          `${m.name.padEnd(34)}${m.format.padEnd(17)}${(m.bytes / 1e6).toFixed(2).padStart(7)} MB  ${m.licence}\n`,
        );
    }
    return 0;
  },
});

export const modelsVerify = defineCommand({
  spec: {
    name: 'models verify',
    summary: SUMMARIES['models verify'],
    positionals: [
      { name: 'model', description: 'model names (default: all)', optional: true, variadic: true },
    ],
    flags: storeFlag,
  },
  async run({ flags, positionals }, io) {
    const store = openModelStore(flags['models-dir']);
    const checks = await store.verifyAll(positionals);
    const bad = checks.filter((c) => c.state !== 'ok');
    if (flags.json) printJson(io, { dir: store.dir, ok: bad.length === 0, files: checks });
    else {
      for (const c of checks) io.out(`${c.state.padEnd(9)}${c.model.padEnd(34)}${c.path}\n`);
      if (bad.length > 0)
        io.err(
          `${bad.length} file(s) missing or wrong; run: emoflow models fetch [--from <mirror folder>]\n`,
        );
    }
    return bad.length === 0 ? 0 : 1;
  },
});

export const modelsFetch = defineCommand({
  spec: {
    name: 'models fetch',
    summary: SUMMARIES['models fetch'],
    positionals: [
      { name: 'model', description: 'model names (default: all)', optional: true, variadic: true },
    ],
    flags: {
      ...storeFlag,
      from: { type: 'string', value: 'dir', description: 'mirror folder (for example ../shared/models)' },
    },
    examples: ['emoflow models fetch --from ../shared/models', 'emoflow models fetch silero_vad_v5'],
  },
  async run({ flags, positionals }, io) {
    const store = openModelStore(flags['models-dir']);
    const results = await store.fetch(
      positionals,
      flags.from === undefined ? {} : { from: resolve(flags.from) },
    );
    if (flags.json) printJson(io, { dir: store.dir, files: results });
    else
      for (const r of results)
        io.out(`${r.action.padEnd(11)}${r.model.padEnd(34)}${r.path}${r.source ? '  <- ' + r.source : ''}\n`);
    return 0;
  },
});
