import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { TangentMetrics } from '../../../src/metrics/metrics.js';
import { NtkGpObserver } from '../../../src/metrics/ntk-gp-observer.js';
import { NtkGpBaseline } from '../../../src/model/ntk-gp-baseline.js';

type ObservedBatch = Parameters<NtkGpObserver['observe']>[0];

describe('NtkGpObserver', () => {
  it('estimates the stability margin of one task every marginEvery batches, tasks in turn', async () => {
    const baseline = new NtkGpBaseline({
      spec: { inputDim: 2, hidden: [32], headHidden: [], activation: 'relu', sigmaW2: 2, sigmaB2: 0.1 },
      window: 8,
      noise: 1e-3,
      learningRate: 0.5,
    });
    const tasks = ['a', 'b', 'c'];
    const examples = tasks.flatMap((task, t) =>
      Array.from({ length: 6 }, (_, i) => ({ task, x: Float32Array.from([i / 6, t - i / 3]), y: Math.sin(i + t), ts: 0 })),
    );
    baseline.predictWithUncertainty(examples);
    baseline.learn(examples);
    const metrics = new TangentMetrics({ lag: () => [] });
    const observer = new NtkGpObserver(baseline, metrics, 2, pino({ level: 'silent' }));
    const estimated = async (): Promise<string[]> =>
      (await metrics.stabilityMargin.get()).values.map((v) => String(v.labels.task)).sort();
    const batch = {} as ObservedBatch;

    observer.observe(batch);
    expect(await estimated()).toEqual([]);
    observer.observe(batch);
    expect(await estimated()).toEqual(['a']);
    observer.observe(batch);
    observer.observe(batch);
    expect(await estimated()).toEqual(['a', 'b']);
    observer.observe(batch);
    observer.observe(batch);
    expect(await estimated()).toEqual(tasks);
  });
});
