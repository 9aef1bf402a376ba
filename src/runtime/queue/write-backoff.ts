import { randomBytes } from 'node:crypto';
import type { RedisClient } from './connection.js';
import { probeKey } from './keys.js';
import { isRedisWriteError, redisReason } from './redis-errors.js';

export interface WriteBackoffOptions {
  redis: RedisClient;
  /** The key prefix probed: on a cluster, the shard whose master refused the write. */
  prefix: string;
  /** Stops taking jobs (BullMQ `Worker.pause(true)`: active jobs go on). */
  pause: () => Promise<void>;
  resume: () => void;
  /** One line for the operator, on stderr. */
  notice: (message: string) => void;
  firstDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * What a worker does when Redis refuses writes (out of memory under `noeviction`, a read-only
 * replica): BullMQ would otherwise fetch, fail to move a job, and fetch again in a tight loop,
 * and a fuse job would fail on storing its record. Instead the worker stops taking jobs, says
 * so, and probes Redis with one small write after 1 s, 2 s, 4 s … (at most 60 s between tries);
 * once a write goes through it resumes. A job that was storing its record waits for that and
 * stores it then (`whenWritable`), so no job is failed for Redis's state.
 */
export class WriteBackoff {
  private blocked: Promise<void> | undefined;
  private release: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly id = randomBytes(6).toString('hex');

  constructor(private readonly options: WriteBackoffOptions) {}

  get paused(): boolean {
    return this.blocked !== undefined;
  }

  /** Takes an error seen anywhere in the worker; true when it is Redis refusing a write. */
  report(e: unknown): boolean {
    if (!isRedisWriteError(e)) return false;
    if (this.blocked !== undefined || this.closed) return true;
    this.blocked = new Promise((r) => (this.release = r));
    const first = this.options.firstDelayMs ?? 1000;
    this.options.notice(
      `Redis refused a write (${redisReason(e)}): pausing this worker's queues, retrying in ${first / 1000} s. Free memory in Redis or raise maxmemory; jobs wait, none is failed for this`,
    );
    void this.options.pause().catch(() => undefined);
    this.schedule(first);
    return true;
  }

  /** Resolves at once if Redis takes writes, otherwise once it takes them again (or on close). */
  whenWritable(): Promise<void> {
    return this.blocked ?? Promise.resolve();
  }

  private schedule(delay: number): void {
    this.timer = setTimeout(() => void this.probe(delay), delay);
  }

  private async probe(delay: number): Promise<void> {
    if (this.closed) return;
    try {
      await this.options.redis.set(probeKey(this.options.prefix, this.id), '1', 'PX', 5000);
    } catch (e) {
      const next = Math.min(delay * 2, this.options.maxDelayMs ?? 60_000);
      this.options.notice(`Redis still refuses writes (${redisReason(e)}): retrying in ${next / 1000} s`);
      this.schedule(next);
      return;
    }
    this.options.notice('Redis accepts writes again: resuming');
    this.unblock();
    this.options.resume();
  }

  private unblock(): void {
    this.blocked = undefined;
    this.release?.();
    this.release = undefined;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.unblock();
  }
}
