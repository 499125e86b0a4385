import { describe, expect, it } from 'vitest';
import { MetricsObserver } from '../../../src/metrics/metrics-observer.js';
import { TangentMetrics } from '../../../src/metrics/metrics.js';
import { ProgressLine } from '../../../src/metrics/progress-line.js';
import { StreamTotals } from '../../../src/metrics/stream-totals.js';
import type { LearnedBatch } from '../../../src/pipeline/records.js';
import { sourceRecord } from '../pipeline/helpers.js';

function batch(ys: number[], nn: number[], ntkgp: number[], options: { applied?: boolean; rejected?: number } = {}): LearnedBatch {
  const accepted = ys.map((y) => ({ ok: true as const, labeled: true as const, source: sourceRecord({}), example: { task: 'a', x: new Float32Array(1), y, ts: 0 } }));
  const rejected = Array.from({ length: options.rejected ?? 0 }, () => ({
    ok: false as const,
    source: sourceRecord('{'),
    reason: 'invalid_json' as const,
    detail: 'bad',
  }));
  return {
    sequence: 0,
    accepted,
    unlabeled: [],
    rejected,
    nextOffsets: new Map(),
    formedAt: 0,
    scores: [
      { model: 'nn', predictions: Float32Array.from(nn) },
      { model: 'ntkgp', predictions: Float32Array.from(ntkgp) },
    ],
    scoreSeconds: 0,
    modelVersion: 0,
    learned: [
      { model: 'nn', applied: options.applied ?? true, loss: 0, seconds: 0 },
      { model: 'ntkgp', applied: true, loss: 0, seconds: 0 },
    ],
  };
}

async function sample(metrics: TangentMetrics, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return value?.value;
}

describe('StreamTotals: one count behind metrics, progress line and summaries', () => {
  const batches = [batch([1, 2, 3], [1, 2, 5], [0, 2, 3], { rejected: 2 }), batch([4, 5], [Number.NaN, 5], [4, 4], { applied: false })];

  it('counts learned, dead-lettered and rejected steps as the metrics do, with a rejected step still learned', async () => {
    const totals = new StreamTotals();
    const metrics = new TangentMetrics({ lag: () => [] }, () => totals.prequential());
    const observer = new MetricsObserver(metrics, 100, () => 1, { models: ['nn', 'ntkgp'], driftModels: [], detectors: [] });
    const progress = new ProgressLine(totals);
    for (const b of batches) for (const o of [totals, observer, progress]) o.observe(b);
    // Dead letters count once published (after the dead-letter stage), not when learned batches pass.
    expect(totals.deadLettered).toBe(0);
    expect(await sample(metrics, 'tangent_records_total', { result: 'dead_lettered' })).toBe(0);
    for (const b of batches) {
      totals.published(b);
      observer.committed(b);
    }

    expect(totals.learned).toBe(5);
    expect(totals.deadLettered).toBe(2);
    expect(progress.totals).toEqual({ learned: 5, deadLettered: 2 });
    expect(await sample(metrics, 'tangent_records_total', { result: 'learned' })).toBe(5);
    expect(await sample(metrics, 'tangent_records_total', { result: 'dead_lettered' })).toBe(2);
    expect(totals.rejectedSteps.get('nn')).toBe(1);
    expect(await sample(metrics, 'tangent_sgd_steps_total', { model: 'nn', result: 'rejected' })).toBe(1);
    expect(progress.line('')).toContain('1 nn steps rejected');
  });

  it('counts owed phases and their steps the same whether paid in a batch or between batches', async () => {
    const totals = new StreamTotals();
    const metrics = new TangentMetrics({ lag: () => [] }, () => totals.prequential());
    const observer = new MetricsObserver(metrics, 100, () => 1, { models: ['nn'], driftModels: [], detectors: [] });
    const phase = { steps: 3, rejectedSteps: 1, seconds: 0.012 };
    // A batch begins a phase and pays one of its steps; two more run between batches, the last one rejected.
    const inBatch = batch([1], [1], [1]);
    const [nn] = inBatch.learned;
    const paidInBatch = { ...inBatch, learned: [{ ...nn!, replay: { phasesBegun: 1, steps: 1, rejectedSteps: 0, seconds: 0.004, phasesEnded: [] } }] };
    for (const o of [totals, observer]) o.observe(paidInBatch);
    const between = [
      { phasesBegun: 0, steps: 1, rejectedSteps: 0, seconds: 0.004, phasesEnded: [] },
      { phasesBegun: 0, steps: 1, rejectedSteps: 1, seconds: 0.004, phasesEnded: [phase], learningRateScale: 0.5 },
    ];
    for (const progress of between) {
      totals.replayed('nn', progress);
      observer.replayed('nn', progress);
    }
    expect(totals.rejectedSteps.get('nn')).toBe(1);
    expect(await sample(metrics, 'tangent_sgd_steps_total', { model: 'nn', result: 'rejected' })).toBe(1);
    // The batch's own head step, and two of the three replay steps.
    expect(await sample(metrics, 'tangent_sgd_steps_total', { model: 'nn', result: 'applied' })).toBe(3);
    expect(await sample(metrics, 'tangent_fine_tune_phases_total', {})).toBe(1);
    const duration = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'tangent_fine_tune_duration_seconds')!.values as { metricName?: string; value: number }[];
    expect(duration.find((v) => v.metricName === 'tangent_fine_tune_duration_seconds_count')?.value).toBe(1);
    expect(duration.find((v) => v.metricName === 'tangent_fine_tune_duration_seconds_sum')?.value).toBeCloseTo(0.012, 12);
  });

  it('keeps a non-finite prediction in the denominator: counted, and the whole-stream MAE is infinite', async () => {
    const totals = new StreamTotals();
    const metrics = new TangentMetrics({ lag: () => [] }, () => totals.prequential());
    const observer = new MetricsObserver(metrics, 100, () => 1, { models: ['nn', 'ntkgp'], driftModels: [], detectors: [] });
    for (const b of batches) for (const o of [totals, observer]) o.observe(b);

    const nn = totals.prequential().find((t) => t.model === 'nn')!;
    expect(nn).toMatchObject({ records: 5, nonFinite: 1, mae: Number.POSITIVE_INFINITY });
    expect(await sample(metrics, 'tangent_prequential_predictions_total', { task: 'a', model: 'nn' })).toBe(5);
    expect(await sample(metrics, 'tangent_prequential_non_finite_total', { task: 'a', model: 'nn' })).toBe(1);
    expect(await sample(metrics, 'tangent_prequential_stream_mae', { task: 'a', model: 'nn' })).toBe(Number.POSITIVE_INFINITY);

    // The GP's errors: |0−1| + 0 + 0 + 0 + |4−5| over 5 records.
    const gp = totals.prequential().find((t) => t.model === 'ntkgp')!;
    expect(gp.mae).toBeCloseTo(2 / 5, 12);
    expect(gp.rmse).toBeCloseTo(Math.sqrt(2 / 5), 12);
    expect(await sample(metrics, 'tangent_prequential_stream_mae', { task: 'a', model: 'ntkgp' })).toBeCloseTo(2 / 5, 12);
    expect(await sample(metrics, 'tangent_prequential_stream_rmse', { task: 'a', model: 'ntkgp' })).toBeCloseTo(Math.sqrt(2 / 5), 12);
  });
});
