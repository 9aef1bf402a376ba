/**
 * Redis refusing a write: out of memory under `maxmemory-policy noeviction` (OOM), a replica
 * (READONLY), a failed snapshot (MISCONF), too few replicas (NOREPLICAS), or a transaction
 * discarded because one of its commands was refused (EXECABORT). These are not the job's
 * fault: the writer waits for Redis (workers) or stops resumably (submit), never drops work.
 */
const WRITE_REFUSALS = /^(OOM|READONLY|MISCONF|NOREPLICAS|EXECABORT)\b/;

export function isRedisWriteError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (WRITE_REFUSALS.test(e.message)) return true;
  // ioredis wraps a failed MULTI's first error as `previousErrors`.
  const previous = (e as { previousErrors?: unknown[] }).previousErrors;
  return (
    Array.isArray(previous) && previous.some((p) => p instanceof Error && WRITE_REFUSALS.test(p.message))
  );
}

/** The first line of Redis's reason, for a one-line message. */
export function redisReason(e: unknown): string {
  const previous = (e as { previousErrors?: unknown[] } | undefined)?.previousErrors;
  const first = Array.isArray(previous) && previous[0] instanceof Error ? previous[0] : e;
  const text = first instanceof Error ? first.message : String(first);
  return text.split('\n')[0]!.slice(0, 200);
}

/** An error reply from Redis (ioredis's ReplyError), as opposed to a bug or a file error. */
export function isRedisReply(e: unknown): boolean {
  return e instanceof Error && (e.name === 'ReplyError' || isRedisWriteError(e));
}
