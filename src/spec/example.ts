/** The record types every layer shares: what a model predicts for and learns from. */

/** What a prediction needs: a task and its features. */
export interface Query {
  readonly task: string;
  /** Features; standardised in place by the scale stage. */
  readonly x: Float32Array;
  /** Event time, epoch ms (the record's `ts`, else the broker timestamp). */
  readonly ts: number;
}

/** One training example: what a good record with a label decodes to. */
export interface Example extends Query {
  readonly y: number;
}
