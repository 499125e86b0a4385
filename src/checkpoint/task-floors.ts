/**
 * Per task, the offset below which its records are already in its state
 * (set when a partition is restored): the skip stage drops those records so
 * no state learns a record twice when its partition resumes below them.
 */
export class TaskFloors {
  private readonly floors = new Map<string, { topic: string; partition: number; offset: bigint }>();

  set(task: string, topic: string, partition: number, offset: bigint): void {
    this.floors.set(task, { topic, partition, offset });
  }

  /** Forgets the floors of a partition that resumes below them (its log is not the one the states were taken on). */
  dropPartition(topic: string, partition: number): void {
    for (const [task, floor] of this.floors) if (floor.topic === topic && floor.partition === partition) this.floors.delete(task);
  }

  clear(): void {
    this.floors.clear();
  }

  /** Whether this record of `task` is already in the task's state. */
  covers(task: string, topic: string, partition: number, offset: string): boolean {
    const floor = this.floors.get(task);
    return floor !== undefined && floor.topic === topic && floor.partition === partition && BigInt(offset) < floor.offset;
  }
}
