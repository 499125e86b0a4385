interface Queued<T> {
  readonly items: readonly T[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Sends one at a time, in the order asked; what is asked for while a send is
 * out goes together in the next one (up to `maxItems`, whole requests), so a
 * slow broker round trip is paid once for many batches instead of once each.
 * After a failed send every later one fails too: nothing sent after a lost
 * batch can overtake it.
 */
export class CoalescedSends<T> {
  private readonly queue: Queued<T>[] = [];
  private sending = false;
  private failure: { readonly error: unknown } | undefined;

  constructor(
    private readonly sendAll: (items: readonly T[]) => Promise<void>,
    private readonly maxItems: number,
  ) {}

  /** Resolves once the items are sent (with whatever went with them). */
  send(items: readonly T[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure.error);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.sending || this.queue.length === 0) return;
    let take = 1;
    let count = this.queue[0]!.items.length;
    while (take < this.queue.length && count + this.queue[take]!.items.length <= this.maxItems) count += this.queue[take++]!.items.length;
    const group = this.queue.splice(0, take);
    this.sending = true;
    this.sendAll(group.length === 1 ? group[0]!.items : group.flatMap((queued) => queued.items)).then(
      () => {
        for (const queued of group) queued.resolve();
        this.sending = false;
        this.next();
      },
      (error: unknown) => {
        this.failure = { error };
        for (const queued of [...group, ...this.queue.splice(0)]) queued.reject(error);
        this.sending = false;
      },
    );
  }
}
