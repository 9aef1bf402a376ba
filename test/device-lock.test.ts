import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { DeviceLock } from '../src/models/device-lock.js';
import { repoRoot } from './support/paths.js';

/**
 * The process-wide device lock (src/models/device-lock.ts) across real worker threads: the
 * threads import the built module, as the extraction threads do.
 */
const LOCK_MODULE = pathToFileURL(join(repoRoot, 'dist', 'src', 'models', 'device-lock.js')).href;

/**
 * A thread that `rounds` times enters a critical section (with the lock, or without when `lock`
 * is false): it marks `inside` busy, counts an overlap if another holder was already inside, yields
 * to its event loop for a few ms, and leaves.
 */
const HOLDER = `
const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  const { DeviceLock } = await import(workerData.module);
  const lock = DeviceLock.of(workerData.lock);
  const shared = new Int32Array(workerData.shared);
  const section = async () => {
    if (Atomics.add(shared, 0, 1) !== 0) Atomics.add(shared, 1, 1);
    await new Promise((r) => setTimeout(r, 1 + (workerData.seed++ % 3)));
    Atomics.sub(shared, 0, 1);
  };
  for (let i = 0; i < workerData.rounds; i++) {
    if (workerData.useLock) await lock.hold(section);
    else await section();
  }
  parentPort.postMessage('done');
})();
`;

function holder(lock: DeviceLock, shared: SharedArrayBuffer, useLock: boolean, seed: number): Promise<void> {
  const w = new Worker(HOLDER, {
    eval: true,
    workerData: { module: LOCK_MODULE, lock: lock.buffer, shared, rounds: 25, useLock, seed },
  });
  return new Promise((resolve, reject) => {
    w.once('message', () => resolve());
    w.once('error', reject);
    // A thread that ends before it is done (its wait let the event loop empty) fails the test.
    w.once('exit', (code) => reject(new Error(`the thread exited (code ${code}) before it was done`)));
  });
}

/** Three threads and the main thread, each entering the section 25 times; returns the overlaps seen. */
async function overlaps(useLock: boolean): Promise<number> {
  const lock = DeviceLock.create();
  const shared = new SharedArrayBuffer(8);
  const cells = new Int32Array(shared);
  const main = (async () => {
    for (let i = 0; i < 25; i++) {
      const section = async () => {
        if (Atomics.add(cells, 0, 1) !== 0) Atomics.add(cells, 1, 1);
        await new Promise((r) => setTimeout(r, 1 + (i % 3)));
        Atomics.sub(cells, 0, 1);
      };
      if (useLock) await lock.hold(section);
      else await section();
    }
  })();
  await Promise.all([
    main,
    holder(lock, shared, useLock, 0),
    holder(lock, shared, useLock, 1),
    holder(lock, shared, useLock, 2),
  ]);
  expect(lock.holder).toBe(0);
  return Atomics.load(cells, 1);
}

describe('DeviceLock', () => {
  it('lets one holder at a time into the section, across threads and within one', async () => {
    // Without the lock the same four holders do overlap: the check can fail.
    expect(await overlaps(false)).toBeGreaterThan(0);
    expect(await overlaps(true)).toBe(0);
  });

  it('a waiting thread whose only work is the wait stays alive until it gets the lock', async () => {
    const lock = DeviceLock.create();
    const shared = new SharedArrayBuffer(8);
    let thread: Promise<void> | undefined;
    // The main thread holds the lock for 600 ms (longer than a wait slice) while the thread waits.
    await lock.hold(async () => {
      thread = holder(lock, shared, true, 0);
      await new Promise((r) => setTimeout(r, 600));
    });
    await thread;
    expect(lock.holder).toBe(0);
  });

  it('a thread terminated while holding the lock leaves it to releaseIfHeldBy', async () => {
    const lock = DeviceLock.create();
    const w = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       (async () => {
         const { DeviceLock } = await import(workerData.module);
         await DeviceLock.of(workerData.lock).hold(async () => {
           parentPort.postMessage('holding');
           await new Promise(() => setInterval(() => undefined, 1000));
         });
       })();`,
      { eval: true, workerData: { module: LOCK_MODULE, lock: lock.buffer } },
    );
    const id = w.threadId;
    await new Promise((r) => w.once('message', r));
    expect(lock.holder).toBe(id + 1);
    await w.terminate();
    expect(lock.holder).toBe(id + 1);
    expect(lock.releaseIfHeldBy(id + 7)).toBe(false);
    expect(lock.releaseIfHeldBy(id)).toBe(true);
    expect(lock.holder).toBe(0);
    // And the lock works again.
    expect(await lock.hold(async () => lock.holder)).toBeGreaterThan(0);
  });
});
