import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import wav from 'node-wav';
import { packageRoot } from '../core/package-root.js';
import { speechLikeSignal } from './bench-inputs.js';
import { median } from './timing.js';

export interface StartupBench {
  /** Median wall seconds of each command, including Node's own start. */
  seconds: { node: number; version: number; help: number; mfcc: number };
  /** Each command's median over `node -e 0`'s, measured in the same run. */
  ratio: { version: number; help: number; mfcc: number };
  runs: number;
  clipSeconds: number;
}

/** Wall seconds of one `node <args>` (stdout and stderr discarded); throws when it fails. */
function wall(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status ?? r.signal}`);
  return seconds;
}

/**
 * How long the CLI takes to start: `emoflow --version`, `--help` and `mfcc` on a generated 3 s
 * 16 kHz clip, each against a bare `node -e 0`, `runs` times in turn (medians), in one run.
 */
export async function benchStartup(runs = 5): Promise<StartupBench> {
  const main = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
  const dir = await mkdtemp(join(tmpdir(), 'emoflow-startup-'));
  const clipSeconds = 3;
  try {
    const clip = join(dir, 'clip.wav');
    const x = Float32Array.from(speechLikeSignal(clipSeconds));
    await writeFile(clip, wav.encode([x], { sampleRate: 16000, float: false, bitDepth: 16 }));
    const times = {
      node: [] as number[],
      version: [] as number[],
      help: [] as number[],
      mfcc: [] as number[],
    };
    wall(['-e', '0']); // warm the file cache once
    wall([main, '--version']);
    for (let i = 0; i < runs; i++) {
      times.node.push(wall(['-e', '0']));
      times.version.push(wall([main, '--version']));
      times.help.push(wall([main, '--help']));
      times.mfcc.push(wall([main, 'mfcc', clip]));
    }
    const seconds = {
      node: median(times.node),
      version: median(times.version),
      help: median(times.help),
      mfcc: median(times.mfcc),
    };
    return {
      seconds,
      ratio: {
        version: seconds.version / seconds.node,
        help: seconds.help / seconds.node,
        mfcc: seconds.mfcc / seconds.node,
      },
      runs,
      clipSeconds,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
