import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import type { PredictionRecord } from '../../src/pipeline/record.js';
import { deletePrefix } from '../../src/runtime/queue/store.js';
import { emoflow } from './cli.js';
import { readRecords } from './records.js';
import {
  startWorkerProcess,
  stopWorkerProcess,
  type WorkerProcess,
} from '../../src/runtime/queue/worker-process.js';

export const REDIS_URL = process.env['EMOFLOW_TEST_REDIS'] ?? 'redis://127.0.0.1:6379';

/** A prefix of its own for each test, so tests never see each other's keys. */
export function uniquePrefix(tag: string): string {
  return `emoflow-test-${tag}-${randomBytes(4).toString('hex')}`;
}

/** Deletes every key under `prefix`. */
export async function cleanPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    await deletePrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

/** `emoflow worker <args>` as a process of its own, ready (see src/runtime/queue/worker-process.ts). */
export const startWorker = (args: readonly string[]): Promise<WorkerProcess> => startWorkerProcess(args);
export const stopWorker = stopWorkerProcess;
export type { WorkerProcess };

export interface RedisServer {
  url: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

/** A redis-server of the test's own on `port`, with the append-only file on (every write fsynced). */
export async function startRedisServer(port: number, dir: string): Promise<RedisServer> {
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  const launch = async () => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
        '--bind',
        '127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    if (!(await answersPing(url, 100))) throw new Error(`redis-server on port ${port} did not start`);
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child === undefined || child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  await launch();
  return {
    url,
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
  };
}

/**
 * Whether a Redis starting at `url` answers PING within `tries` probes 100 ms apart; `alive`
 * stops early when the server process has exited (its port was taken, say).
 */
export async function answersPing(
  url: string,
  tries: number,
  alive: () => boolean = () => true,
): Promise<boolean> {
  for (let i = 0; i < tries && alive(); i++) {
    const probe = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    probe.on('error', () => undefined); // refused while the server starts: the loop retries
    try {
      await probe.connect();
      await probe.ping();
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      probe.disconnect();
    }
  }
  return false;
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The arguments of `emoflow export <batch> --wait` into `out`. */
export function exportArgs(batch: string, url: string, prefix: string, out: string): string[] {
  return ['export', batch, '--redis', url, '--prefix', prefix, '--out', out, '--wait'];
}

/**
 * `emoflow export <batch> --wait` into `out`: exit 0 expected (the stderr shown otherwise); the
 * records read back.
 */
export async function exportRecords(
  batch: string,
  url: string,
  prefix: string,
  out: string,
  ...extra: string[]
): Promise<PredictionRecord[]> {
  const run = await emoflow([...exportArgs(batch, url, prefix, out), ...extra]);
  expect(run.code, run.stderr).toBe(0);
  return readRecords(out);
}
