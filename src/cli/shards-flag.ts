import { defaultShards, SHARDS_ENV } from '../runtime/queue/layout.js';

/** `--shards`: a deployment's shard count (see queue.md, Redis Cluster). */
export const shardsFlag = {
  type: 'int',
  value: 'N',
  description: `shards of the deployment: each batch lives on one (its own prefix, on its own master of a Redis Cluster), workers serve all; every command must use the same [default: $${SHARDS_ENV}, else 1]`,
  min: 1,
  max: 1024,
} as const;

/** The `--shards` given, else its default from the environment. */
export function shardsOf(flag: number | undefined): number {
  return flag ?? defaultShards();
}
