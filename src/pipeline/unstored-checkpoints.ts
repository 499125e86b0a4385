/**
 * The checkpoints captured and not yet stored, oldest first. The publish stage
 * sends a batch's predictions only once every checkpoint captured before the
 * batch is stored: a restart scores again just the records after the newest
 * stored checkpoint, so a crash re-publishes at most one checkpoint interval
 * of predictions, however far learning runs ahead of storing.
 */
export class UnstoredCheckpoints {
  private readonly releases: (() => void)[] = [];
  private newest: Promise<void> = Promise.resolve();

  /** A batch carrying a captured checkpoint passed the publish stage. */
  captured(): void {
    this.newest = new Promise((release) => this.releases.push(release));
  }

  /** The oldest unstored checkpoint is stored (they are stored in the order captured). */
  stored(): void {
    this.releases.shift()?.();
  }

  /** Settles once every checkpoint captured so far is stored. */
  allStored(): Promise<void> {
    return this.newest;
  }
}
