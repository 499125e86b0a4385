/** Mean of the last `capacity` values, O(1) per value, in a fixed ring buffer. */
export class SlidingMean {
  private readonly values: Float64Array;
  private next = 0;
  private filled = 0;
  private sum = 0;
  private sinceResum = 0;

  constructor(readonly capacity: number) {
    this.values = new Float64Array(capacity);
  }

  push(value: number): void {
    if (this.filled === this.capacity) this.sum -= this.values[this.next]!;
    else this.filled += 1;
    this.values[this.next] = value;
    this.sum += value;
    this.next = (this.next + 1) % this.capacity;
    // Re-sum now and then so floating-point error cannot accumulate forever.
    if (++this.sinceResum >= 16 * this.capacity) {
      this.sinceResum = 0;
      this.sum = 0;
      for (let i = 0; i < this.filled; i++) this.sum += this.values[i]!;
    }
  }

  get count(): number {
    return this.filled;
  }

  get mean(): number {
    return this.filled === 0 ? Number.NaN : this.sum / this.filled;
  }
}
