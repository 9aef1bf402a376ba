import { threadId } from 'node:worker_threads';

/**
 * A lock shared by every thread of the process (the main thread and the extraction threads),
 * held while an onnxruntime session on a provider that cannot run concurrently is created, run
 * or released.
 *
 * Why: onnxruntime's WebGPU provider keeps one context (one Dawn device and command encoder) per
 * process, shared by all its sessions, and two sessions that run at the same time, from two
 * threads, corrupt it: `double free or corruption` or a segmentation fault (microsoft/onnxruntime
 * #32561 on Linux/Vulkan, #27592 on macOS/Metal, both open for onnxruntime 1.28-1.30). onnxruntime
 * serialises the runs of one session, not of different sessions. emoflow runs several sessions at
 * once (face detector and expression CNN, the text encoder, the head, in up to one thread per
 * core), so it serialises them itself, across threads, through this lock.
 *
 * The lock is one Int32 in a SharedArrayBuffer: 0 when free, else the holder's thread id + 1.
 * Waiting is asynchronous (Atomics.waitAsync), so a waiting main thread keeps serving its event
 * loop. A thread that dies holding the lock (terminated at its heap limit) leaves it held; the
 * thread pool that owned it frees it with `releaseIfHeldBy`.
 */
export class DeviceLock {
  private readonly cell: Int32Array;

  private constructor(readonly buffer: SharedArrayBuffer) {
    this.cell = new Int32Array(buffer, 0, 1);
  }

  static create(): DeviceLock {
    return new DeviceLock(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  }

  /** The lock whose buffer another thread created (handed over in a worker's init). */
  static of(buffer: SharedArrayBuffer): DeviceLock {
    return new DeviceLock(buffer);
  }

  /** Runs `fn` holding the lock; other holders wait, in this thread and in others. */
  async hold<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** The thread id + 1 of the holder, 0 when free. */
  get holder(): number {
    return Atomics.load(this.cell, 0);
  }

  /** Frees the lock if the thread `id` (a dead one) holds it; true when it did. */
  releaseIfHeldBy(id: number): boolean {
    const freed = Atomics.compareExchange(this.cell, 0, id + 1, 0) === id + 1;
    if (freed) Atomics.notify(this.cell, 0);
    return freed;
  }

  private async acquire(): Promise<void> {
    const me = threadId + 1;
    for (;;) {
      const seen = Atomics.compareExchange(this.cell, 0, 0, me);
      if (seen === 0) return;
      // Wakes on release; the timeout only bounds a wait whose notify raced the exchange above.
      const wait = Atomics.waitAsync(this.cell, 0, seen, WAIT_SLICE_MS);
      if (!wait.async) continue;
      // A pending waitAsync does not keep Node's event loop alive: a thread whose only work is
      // this wait would exit. The timer does, for as long as the wait can last.
      const alive = setTimeout(() => undefined, WAIT_SLICE_MS + 50);
      try {
        await wait.value;
      } finally {
        clearTimeout(alive);
      }
    }
  }

  private release(): void {
    Atomics.store(this.cell, 0, 0);
    Atomics.notify(this.cell, 0);
  }
}

const WAIT_SLICE_MS = 250;

let processLock: DeviceLock | undefined;

/**
 * This thread's lock, created on first use: the process-wide one on the main thread. An
 * extraction thread is handed the main thread's buffer in its init instead (SessionFactory's
 * `lock`, src/runtime/embedded/extract-pool.ts).
 */
export function processDeviceLock(): DeviceLock {
  processLock ??= DeviceLock.create();
  return processLock;
}
