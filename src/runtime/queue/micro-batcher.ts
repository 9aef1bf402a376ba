export type Outcome<O> = { ok: true; value: O } | { ok: false; error: unknown };

/**
 * Gathers single calls into batches (BullMQ hands a worker one job at a time; batch
 * consumption is a paid BullMQ feature): a call waits at most `gatherMs` for others, or until
 * `max` are waiting, then `run` serves them together. At most `parallel` batches run at once
 * (one per extraction thread); calls arriving meanwhile form the next batch. `run` returns one
 * outcome per item, so one bad item fails only its own call; if `run` throws, every call of
 * that batch rejects.
 */
export class MicroBatcher<I, O> {
  private pending: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;

  constructor(
    private readonly run: (items: I[]) => Promise<Outcome<O>[]>,
    private readonly options: { max: number; gatherMs: number; parallel: number },
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.options.max) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.gatherMs);
    });
  }

  private flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0 || this.inFlight >= this.options.parallel) return;
    const batch = this.pending.splice(0, this.options.max);
    this.inFlight++;
    void this.run(batch.map((b) => b.item))
      .then(
        (out) =>
          batch.forEach((b, i) => {
            const o = out[i];
            if (o === undefined) b.reject(new Error('micro-batch returned too few results'));
            else if (o.ok) b.resolve(o.value);
            else b.reject(o.error);
          }),
        (e: unknown) => batch.forEach((b) => b.reject(e)),
      )
      .finally(() => {
        this.inFlight--;
        if (this.pending.length > 0) this.flush();
      });
  }
}
