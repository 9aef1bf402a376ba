import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { repoRoot } from './paths.js';
import { answersPing } from './queue.js';

export interface OwnRedis {
  url: string;
  /** A client of the test's own (closed by `stop`). */
  client: Redis;
  stop(): Promise<void>;
}

/**
 * A redis-server of the test's own, in memory only (no AOF, no snapshots), on a free port in
 * 6600-7599, with `extraArgs` (e.g. `--maxmemory 4mb --maxmemory-policy noeviction`).
 */
export async function startOwnRedis(extraArgs: readonly string[] = []): Promise<OwnRedis> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = 6600 + Math.floor(Math.random() * 1000);
    const child: ChildProcess = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs],
      { stdio: 'ignore' },
    );
    const url = `redis://127.0.0.1:${port}`;
    if (await answersPing(url, 50, () => child.exitCode === null)) {
      const client = new Redis(url, { maxRetriesPerRequest: 1 });
      client.on('error', () => undefined);
      return {
        url,
        client,
        stop: () =>
          new Promise<void>((resolve) => {
            client.disconnect();
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      };
    }
    child.kill('SIGKILL'); // the port was taken: try another
  }
  throw new Error('no redis-server of our own could start');
}

/** A running `emoflow <args>` whose stderr can be waited on line by line. */
export interface LiveCli {
  child: ChildProcessWithoutNullStreams;
  stderr: () => string;
  stdout: () => string;
  /** Resolves with the milliseconds it took once stderr matches `re`; rejects after `ms`. */
  waitStderr(re: RegExp, ms: number): Promise<number>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

export function liveEmoflow(args: readonly string[]): LiveCli {
  const t0 = Date.now();
  const child = spawn(process.execPath, [join(repoRoot, 'dist', 'src', 'cli', 'main.js'), ...args], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end();
  let err = '';
  let out = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
  child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    child,
    stderr: () => err,
    stdout: () => out,
    exited,
    waitStderr: async (re, ms) => {
      const deadline = Date.now() + ms;
      while (!re.test(err)) {
        if (Date.now() > deadline) throw new Error(`stderr never matched ${re} in ${ms} ms:\n${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return Date.now() - t0;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat(5); after "pid (comm) " they are 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
