import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEmoflowError } from '../../src/core/errors.js';
import {
  connectRedis,
  DEFAULT_REDIS_URL,
  defaultRedisUrl,
  maskUrl,
  resolveRedisUrl,
} from '../../src/runtime/queue/connection.js';
import { emoflow } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';
import { waitFor } from '../support/queue.js';

const PASSWORD = 'c0rrect-h0rse';
const WRONG = 'n0t-the-passw0rd';
let port: number;
let server: ChildProcess;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port: 0 }, () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** A redis-server of the test's own that requires a password, and an ACL user `reader`. */
beforeAll(async () => {
  port = await freePort();
  server = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--requirepass',
      PASSWORD,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { stdio: 'ignore' },
  );
  await waitFor(
    async () => {
      const r = new Redis({
        port,
        password: PASSWORD,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      r.on('error', () => undefined);
      try {
        await r.connect();
        await r.call('ACL', 'SETUSER', 'reader', 'on', '>reader-pw', '~*', '+@read', '+ping', '+info');
        return true;
      } catch {
        return false;
      } finally {
        r.disconnect();
      }
    },
    10_000,
    'redis-server with a password',
  );
});

afterAll(async () => {
  if (server.exitCode === null) {
    await new Promise<void>((resolve) => {
      server.once('exit', () => resolve());
      server.kill('SIGTERM');
    });
  }
});

const url = (userinfo: string) => `redis://${userinfo}127.0.0.1:${port}`;

async function failure(promise: Promise<unknown>): Promise<{ error: Error; ms: number }> {
  const started = Date.now();
  const error = await promise.then(
    (client) => {
      (client as Redis).disconnect();
      return undefined;
    },
    (e: unknown) => e as Error,
  );
  expect(error, 'expected a rejection').toBeInstanceOf(Error);
  return { error: error!, ms: Date.now() - started };
}

describe('connecting with credentials', () => {
  it('fails at once on a wrong password or a missing one, naming the cause but not the password', async () => {
    for (const [target, word] of [
      [url(`:${WRONG}@`), 'WRONGPASS'],
      [url(`reader:${WRONG}@`), 'WRONGPASS'],
      [url(''), 'NOAUTH'],
    ] as const) {
      // A 10 s timeout, as the commands use: the failure must not wait for it.
      const { error, ms } = await failure(connectRedis(target, 10_000));
      expect(isEmoflowError(error, 'REDIS_UNAVAILABLE'), String(error)).toBe(true);
      expect(ms, target).toBeLessThan(2000);
      expect(error.message).toContain(word);
      expect(error.message).toContain(`127.0.0.1:${port}`);
      expect(error.message).not.toContain(WRONG);
    }
    const ok = await connectRedis(url(`:${PASSWORD}@`), 10_000);
    expect(await ok.ping()).toBe('PONG');
    ok.disconnect();
    const reader = await connectRedis(url('reader:reader-pw@'), 10_000);
    expect(await reader.get('nothing')).toBeNull();
    reader.disconnect();
  });

  it('says so in one line from the CLI, in seconds', async () => {
    const started = Date.now();
    const run = await emoflow(['status', 'b-none', '--redis', url(`:${WRONG}@`)], {
      env: { EMOFLOW_REDIS_TIMEOUT_MS: '10000' },
    });
    expect(Date.now() - started).toBeLessThan(8000);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^emoflow: REDIS_UNAVAILABLE: .*WRONGPASS.*\n$/);
    expect(run.stderr).not.toContain(WRONG);
    expect(run.stderr).toContain(':***@');
  });
});

describe('EMOFLOW_REDIS_URL', () => {
  it('is the default of --redis, and `--redis env` names it explicitly', () => {
    expect(defaultRedisUrl({})).toBe(DEFAULT_REDIS_URL);
    expect(defaultRedisUrl({ EMOFLOW_REDIS_URL: '' })).toBe(DEFAULT_REDIS_URL);
    expect(defaultRedisUrl({ EMOFLOW_REDIS_URL: ' redis://q:1 ' })).toBe('redis://q:1');
    expect(resolveRedisUrl('env', { EMOFLOW_REDIS_URL: 'redis://q:1' })).toBe('redis://q:1');
    expect(resolveRedisUrl('redis://x', { EMOFLOW_REDIS_URL: 'redis://q:1' })).toBe('redis://x');
    expect(() => resolveRedisUrl('env', {})).toThrow(/set EMOFLOW_REDIS_URL/);
    expect(maskUrl('redis+cluster://u:p/w@h1:1,h2:2')).toBe('redis+cluster://u:***@h1:1,h2:2');
  });

  it('reaches a Redis with a password from the environment, where the flag alone would not', async () => {
    const env = { EMOFLOW_REDIS_URL: url(`:${PASSWORD}@`) };
    // The batch does not exist: CONFIG_INVALID says Redis answered (REDIS_UNAVAILABLE would not).
    const fromEnv = await emoflow(['status', 'b-none'], { env });
    expect(fromEnv.stderr).toMatch(/^emoflow: CONFIG_INVALID: no batch 'b-none'/);
    const explicit = await emoflow(['status', 'b-none', '--redis', 'env'], { env });
    expect(explicit.stderr).toMatch(/^emoflow: CONFIG_INVALID: no batch 'b-none'/);
    const flagOnly = await emoflow(['status', 'b-none', '--redis', url('')]);
    expect(flagOnly.stderr).toMatch(/^emoflow: REDIS_UNAVAILABLE: .*NOAUTH/);
    const unset = await emoflow(['status', 'b-none', '--redis', 'env'], { env: { EMOFLOW_REDIS_URL: '' } });
    expect(unset.stderr).toBe(
      'emoflow: CONFIG_INVALID: --redis env: set EMOFLOW_REDIS_URL to the Redis URL\n',
    );

    // --help shows the default it took from the environment, password masked.
    for (const command of ['status', 'worker', 'dashboard']) {
      const help = await emoflow([command, '--help'], { env });
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`[default: redis://:***@127.0.0.1:${port}]`);
      expect(help.stdout).not.toContain(PASSWORD);
    }
  });

  it('keeps the password off the command line of a running process (ps)', async () => {
    const child = spawn(
      process.execPath,
      [join(repoRoot, 'dist', 'src', 'cli', 'main.js'), 'dashboard', '--port', '0'],
      {
        cwd: repoRoot,
        env: { ...process.env, EMOFLOW_REDIS_URL: url(`:${PASSWORD}@`) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await waitFor(async () => out.includes('dashboard on'), 15_000, 'the dashboard');
      const cmdline = `/proc/${child.pid}/cmdline`;
      if (existsSync(cmdline)) {
        const argv = (await readFile(cmdline, 'utf8')).split('\0');
        expect(argv).toContain('dashboard');
        expect(argv.join(' ')).not.toContain(PASSWORD);
      }
      // And it did reach the passworded Redis: /metrics reads the queues there.
      const httpPort = Number(/:(\d+)\//.exec(out)?.[1]);
      expect((await fetch(`http://127.0.0.1:${httpPort}/metrics`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
    }
  });
});
