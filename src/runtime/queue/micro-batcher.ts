export type Outcome<O> = { ok: true; value: O } | { ok: false; error: unknown };

export interface MicroBatcherOptions {
  max: number;
  gatherMs: number;
  parallel: number;
  /**
   * Whether a batch of several items whose `run` threw is run again one item at a time, so that
   * only the item that caused it fails (default: always). Answer false for an error that every
   * item would meet again (a fatal one).
   */
  splitOnError?: (error: unknown) => boolean;
}

interface Entry<I, O> {
  item: I;
  alone: boolean;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

/**
 * Gathers single calls into batches (BullMQ hands a worker one job at a time; batch
 * consumption is a paid BullMQ feature): a call waits at most `gatherMs` for others, or until
 * `max` are waiting, then `run` serves them together. At most `parallel` batches run at once
 * (one per extraction thread); calls arriving meanwhile form the next batch. `run` returns one
 * outcome per item, so one bad item fails only its own call.
 *
 * One failure never fails its neighbours: if `run` throws for a batch of several items (an
 * extraction thread that died on one huge input), each item is run again alone and only the
 * one that throws again fails. An item submitted `alone` (a job that stalled before: its last
 * run may have killed its worker) is always run in a batch of its own.
 */
export class MicroBatcher<I, O> {
  private pending: Entry<I, O>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;

  constructor(
    private readonly run: (items: I[]) => Promise<Outcome<O>[]>,
    private readonly options: MicroBatcherOptions,
  ) {}

  submit(item: I, options: { alone?: boolean } = {}): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, alone: options.alone === true, resolve, reject });
      if (options.alone === true || this.pending.length >= this.options.max) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.gatherMs);
    });
  }

  /** The next batch: a lone item on its own, or up to `max` others in arrival order. */
  private take(): Entry<I, O>[] {
    if (this.pending[0]?.alone === true) return this.pending.splice(0, 1);
    const batch: Entry<I, O>[] = [];
    const rest: Entry<I, O>[] = [];
    for (const e of this.pending) {
      if (!e.alone && batch.length < this.options.max) batch.push(e);
      else rest.push(e);
    }
    this.pending = rest;
    return batch;
  }

  private flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0 || this.inFlight >= this.options.parallel) return;
    const batch = this.take();
    this.inFlight++;
    void this.serve(batch).finally(() => {
      this.inFlight--;
      if (this.pending.length > 0) this.flush();
    });
  }

  private async serve(batch: Entry<I, O>[]): Promise<void> {
    let out: Outcome<O>[];
    try {
      out = await this.run(batch.map((b) => b.item));
    } catch (e) {
      const split = batch.length > 1 && (this.options.splitOnError?.(e) ?? true);
      if (!split) {
        batch.forEach((b) => b.reject(e));
        return;
      }
      for (const b of batch) await this.serve([b]);
      return;
    }
    batch.forEach((b, i) => {
      const o = out[i];
      if (o === undefined) b.reject(new Error('micro-batch returned too few results'));
      else if (o.ok) b.resolve(o.value);
      else b.reject(o.error);
    });
  }
}
