import type { StreamTotals } from './stream-totals.js';

/** What `tangent run --until-end` prints on stdout when it is done: JSON, numbers in target units. */
export interface RunSummary {
  /** Tells the summary apart from the JSON log lines on the same stdout. */
  readonly summary: 'until-end';
  readonly learned: number;
  readonly deadLettered: number;
  readonly deadLettersByReason: Record<string, number>;
  readonly rejectedSteps: Record<string, number>;
  /** Per (task, model): whole-stream prequential error; `mae`/`rmse` are null when a prediction was not finite. */
  readonly prequential: { task: string; model: string; records: number; nonFinite: number; mae: number | null; rmse: number | null }[];
}

const finiteOrNull = (value: number): number | null => (Number.isFinite(value) ? value : null);

/** The summary, from the same totals the metrics and the progress line read. */
export function runSummary(totals: StreamTotals): RunSummary {
  return {
    summary: 'until-end',
    learned: totals.learned,
    deadLettered: totals.deadLettered,
    deadLettersByReason: Object.fromEntries(totals.deadLetters),
    rejectedSteps: Object.fromEntries(totals.rejectedSteps),
    prequential: totals.prequential().map((t) => ({ ...t, mae: finiteOrNull(t.mae), rmse: finiteOrNull(t.rmse) })),
  };
}
