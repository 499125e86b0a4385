import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../src/model/backend.js';
import { OnlineRegressor } from '../../../src/model/online-regressor.js';
import { runToEnd } from '../../../src/model/stepwise.js';
import type { Example } from '../../../src/spec/example.js';

const spec = { inputDim: 2, hidden: [8], headHidden: [], activation: 'relu' as const, sigmaW2: 2, sigmaB2: 0.5 };

function regressor(overrides: Partial<ConstructorParameters<typeof OnlineRegressor>[0]['fineTune']> = {}): OnlineRegressor {
  return new OnlineRegressor({
    spec,
    learningRate: 0.3,
    seed: 3,
    fineTune: { every: 0, steps: 1, trunkLearningRateRatio: 0.1, replayPerTask: 100, batchSize: 4, ...overrides },
  });
}

const examples: Example[] = [
  { task: 'a', x: Float32Array.of(0.5, -1), y: 2, ts: 0 },
  { task: 'a', x: Float32Array.of(1.5, 0.25), y: -1, ts: 0 },
  { task: 'b', x: Float32Array.of(-0.5, 0.75), y: 0.5, ts: 0 },
  { task: 'a', x: Float32Array.of(0.1, 0.9), y: 1, ts: 0 },
];

const values = (v: tf.Variable): number[] => Array.from(v.dataSync());

/**
 * The gradient of the mean squared error with respect to the first (only)
 * trunk layer, written out by hand for one hidden layer and linear heads.
 */
function handTrunkGradient(model: OnlineRegressor, batch: readonly Example[]): { w: number[][]; b: number[] } {
  const [layer] = model.network.trunk;
  const width = spec.hidden[0]!;
  const w1 = layer!.weight.arraySync() as number[][];
  const b1 = layer!.bias.arraySync() as number[];
  const sw = Math.sqrt(spec.sigmaW2);
  const sb = Math.sqrt(spec.sigmaB2);
  const gradW = w1.map((row) => row.map(() => 0));
  const gradB = b1.map(() => 0);
  for (const { task, x, y } of batch) {
    const [head] = model.network.headParameters(task)!;
    const w2 = Array.from(head!.weight);
    const b2 = head!.bias[0]!;
    const pre = b1.map((bj, j) => (sw / Math.sqrt(2)) * (x[0]! * w1[0]![j]! + x[1]! * w1[1]![j]!) + sb * bj);
    const h = pre.map((p) => Math.max(0, p));
    const out = (sw / Math.sqrt(width)) * h.reduce((acc, hj, j) => acc + hj * w2[j]!, 0) + sb * b2;
    const moments = model.targetMomentsOf(task);
    const dOut = (2 * (out - (y - moments.mean[0]!) / moments.standardDeviation(0))) / batch.length;
    pre.forEach((p, j) => {
      const dPre = p > 0 ? dOut * (sw / Math.sqrt(width)) * w2[j]! : 0;
      gradB[j]! += dPre * sb;
      for (let i = 0; i < 2; i++) gradW[i]![j]! += dPre * (sw / Math.sqrt(2)) * x[i]!;
    });
  }
  return { w: gradW, b: gradB };
}

describe('OnlineRegressor', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it('moves only the heads on an ordinary batch; the trunk stays frozen', () => {
    const model = regressor();
    const trunkBefore = model.network.trunkVariables().map(values);
    model.predict(examples); // creates the heads
    const headWeights = (task: string): number[] => Array.from(model.network.headParameters(task)![0]!.weight);
    const headBefore = headWeights('a');
    const result = model.learn(examples);
    expect(result.applied).toBe(true);
    expect(result.fineTune).toBeUndefined();
    expect(model.network.trunkVariables().map(values)).toEqual(trunkBefore);
    expect(headWeights('a')).not.toEqual(headBefore);
    model.dispose();
  });

  it('moves the trunk by exactly ρ·η times the hand-computed gradient in a fine-tuning step', () => {
    const model = regressor();
    model.learn(examples); // target moments and heads now exist
    const [layer] = model.network.trunk;
    const before = { w: layer!.weight.arraySync() as number[][], b: layer!.bias.arraySync() as number[] };
    const gradient = handTrunkGradient(model, examples);
    expect(model.fineTuneStep(examples).applied).toBe(true);
    const after = { w: layer!.weight.arraySync() as number[][], b: layer!.bias.arraySync() as number[] };
    const rate = 0.1 * 0.3;
    const moved = gradient.w.flat().some((g) => Math.abs(g) > 1e-3);
    expect(moved).toBe(true);
    after.w.flat().forEach((v, k) => expect(v).toBeCloseTo(before.w.flat()[k]! - rate * gradient.w.flat()[k]!, 5));
    after.b.forEach((v, j) => expect(v).toBeCloseTo(before.b[j]! - rate * gradient.b[j]!, 5));
    model.dispose();
  });

  it('runs a fine-tuning phase every `every` batches and when asked', () => {
    const model = regressor({ every: 3, steps: 2 });
    const phases = [1, 2, 3, 4, 5, 6].map(() => model.learn(examples).fineTune?.steps ?? 0);
    expect(phases).toEqual([0, 0, 2, 0, 0, 2]);
    model.requestFineTune();
    expect(model.learn(examples).fineTune?.steps).toBe(2);
    model.dispose();
  });

  it('deferred: owes a due phase instead of running it, and pays it one step per replayStep', () => {
    const model = regressor({ every: 1, steps: 3 });
    model.deferredReplay = true;
    model.learn(examples);
    const trunk = (): number[][] => model.network.trunkVariables().map(values);
    const before = trunk();
    const result = model.learn(examples);
    expect(result.fineTune).toBeUndefined();
    expect(result.replay).toEqual({ phasesBegun: 1, steps: 0, rejectedSteps: 0, seconds: 0, phasesEnded: [] });
    expect(trunk()).toEqual(before);
    expect(model.replayOwed).toBe(6);
    expect(model.fineTuning).toBe(true);
    const steps = [1, 2, 3, 4, 5, 6].map(() => model.replayStep()!);
    expect(steps.map((s) => s.steps)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(steps.map((s) => s.phasesEnded.map((p) => p.steps))).toEqual([[], [], [3], [], [], [3]]);
    expect(trunk()).not.toEqual(before);
    expect(model.replayOwed).toBe(0);
    expect(model.fineTuning).toBe(false);
    expect(model.replayStep()).toBeUndefined();
    model.dispose();
  });

  it('deferred: the counters are reset when a phase is owed, and what is owed is saved with the state', () => {
    const model = regressor({ every: 1, steps: 3 });
    model.deferredReplay = true;
    model.learn(examples);
    model.requestFineTune();
    model.learn(examples);
    expect(model.replayOwed).toBe(6);
    expect(model.toJSON()).toMatchObject({ recordsSinceFineTune: 0, fineTunePending: false, replayOwed: { phases: [{ steps: 3, taken: 0 }, { steps: 3, taken: 0 }] } });
    expect(model.toJSON().replayOwed?.phaseTrunk).toBeUndefined();
    const restored = new OnlineRegressor(model.config, model.toJSON());
    expect(restored.replayOwed).toBe(6);
    runToEnd(model.payOwedInSteps());
    expect(model.toJSON().replayOwed).toBeUndefined();
    restored.dispose();
    model.dispose();
  });

  it('deferred: a state captured while phases owe steps (one partly paid) restores them, and the restored model learns what the uninterrupted one does', () => {
    const uninterrupted = regressor({ every: 2, steps: 4 });
    uninterrupted.deferredReplay = true;
    for (let batch = 0; batch < 4; batch++) {
      runToEnd(uninterrupted.payOwedInSteps());
      uninterrupted.learn(examples);
    }
    uninterrupted.replayStep();
    expect(uninterrupted.replayOwed).toBe(3);
    const saved = uninterrupted.toJSON();
    expect(saved.replayOwed?.phases).toEqual([{ steps: 4, taken: 1 }]);
    // Partly paid: the trunk the phase found goes with it, for a rejected step to go back to.
    expect(saved.replayOwed?.phaseTrunk).toHaveLength(uninterrupted.network.trunkVariables().length);
    const restored = new OnlineRegressor(uninterrupted.config, saved);
    restored.deferredReplay = true;
    expect(restored.toJSON().replayOwed).toEqual(saved.replayOwed);
    for (const model of [uninterrupted, restored]) {
      for (let batch = 4; batch < 7; batch++) {
        runToEnd(model.payOwedInSteps());
        model.learn(examples);
      }
      runToEnd(model.payOwedInSteps());
    }
    expect(restored.predict(examples)).toEqual(uninterrupted.predict(examples));
    expect(restored.network.trunkVariables().map(values)).toEqual(uninterrupted.network.trunkVariables().map(values));
    expect(restored.network.headVariables().map(values)).toEqual(uninterrupted.network.headVariables().map(values));
    restored.dispose();
    uninterrupted.dispose();
  });

  it('deferred and paid before the next batch (partly step by step), phases learn exactly what whole phases learn', () => {
    const whole = regressor({ every: 2, steps: 4 });
    const deferred = regressor({ every: 2, steps: 4 });
    deferred.deferredReplay = true;
    for (let batch = 0; batch < 6; batch++) {
      const paid = runToEnd(deferred.payOwedInSteps());
      if (batch === 4) expect(paid).toMatchObject({ steps: 2, phasesEnded: [{ steps: 4 }] });
      expect(deferred.predict(examples)).toEqual(whole.predict(examples));
      const a = whole.learn(examples);
      const b = deferred.learn(examples);
      expect(b.fineTune).toBeUndefined();
      expect(b.replay?.phasesBegun ?? 0).toBe(a.fineTune ? 1 : 0);
      // Between batches, some of the owed steps run one at a time.
      if (batch === 3) {
        deferred.replayStep();
        deferred.replayStep();
      }
    }
    runToEnd(deferred.payOwedInSteps());
    expect(deferred.replayOwed).toBe(0);
    expect(deferred.network.trunkVariables().map(values)).toEqual(whole.network.trunkVariables().map(values));
    expect(deferred.network.headVariables().map(values)).toEqual(whole.network.headVariables().map(values));
    whole.dispose();
    deferred.dispose();
  });

  it('deferred, overlapping the newest phase: a batch pays only older phases, so at most one phase is owed past a batch', () => {
    const model = regressor({ every: 1, steps: 3 });
    model.deferredReplay = true;
    model.overlapNewestPhase = true;
    model.learn(examples);
    expect([model.replayOwed, model.replayOwedBeforeScoring]).toEqual([3, 0]);
    // Nothing to pay before the next batch: the phase it owes overlaps that batch.
    expect(runToEnd(model.payOwedInSteps())).toMatchObject({ steps: 0, phasesEnded: [] });
    model.replayStep();
    model.learn(examples);
    // The partly paid phase is now the older one: the next batch pays its two steps, not the newest phase's three.
    expect([model.replayOwed, model.replayOwedBeforeScoring]).toEqual([5, 2]);
    expect(runToEnd(model.payOwedInSteps())).toMatchObject({ steps: 2, phasesEnded: [{ steps: 3 }] });
    expect([model.replayOwed, model.replayOwedBeforeScoring]).toEqual([3, 0]);
    model.overlapNewestPhase = false;
    expect(model.replayOwedBeforeScoring).toBe(3);
    runToEnd(model.payOwedInSteps());
    expect(model.replayOwed).toBe(0);
    model.dispose();
  });

  it('deferred: the governor limits what a phase owes; at 0 nothing is owed and the phase stays due', () => {
    const model = regressor({ every: 1, steps: 5 });
    model.deferredReplay = true;
    model.phaseStepsLimit = 2;
    model.learn(examples);
    expect(model.replayOwed).toBe(2);
    model.phaseStepsLimit = 0;
    expect(model.learn(examples).replay).toBeUndefined();
    expect(model.replayOwed).toBe(2);
    expect(model.toJSON().recordsSinceFineTune).toBe(4);
    model.dispose();
  });

  it("runs a phase every `every` batches' worth of records: small batches count their records, a larger one counts as one batch", () => {
    // batchSize 4: with every 1, a phase after each 4 learned records.
    const model = regressor({ every: 1, steps: 2 });
    const halves = [examples.slice(0, 2), examples.slice(2)];
    expect(model.learn(halves[0]!).fineTune).toBeUndefined();
    expect(model.toJSON().recordsSinceFineTune).toBe(2);
    expect(model.learn(halves[1]!).fineTune?.steps).toBe(2);
    expect(model.learn(examples.slice(0, 1)).fineTune).toBeUndefined();
    expect(model.learn(examples.slice(0, 1)).fineTune).toBeUndefined();
    expect(model.learn(examples.slice(0, 1)).fineTune).toBeUndefined();
    expect(model.learn(examples.slice(0, 1)).fineTune?.steps).toBe(2);
    expect(model.learn([...examples, ...examples]).fineTune?.steps).toBe(2);
    expect(model.toJSON().recordsSinceFineTune).toBe(0);
    model.dispose();
  });

  it('keeps what a due batch learned beyond the period, so batches a little short of batchSize still get a phase nearly every batch', () => {
    const model = regressor({ every: 1, steps: 1 });
    const short = examples.slice(0, 3);
    const phases = Array.from({ length: 8 }, () => (model.learn(short).fineTune ? 1 : 0));
    // 3 records a batch against a period of 4: phases after 8 · 3 = 24 records → 6, the count 0 after the last.
    expect(phases).toEqual([0, 1, 1, 1, 0, 1, 1, 1]);
    expect(model.toJSON().recordsSinceFineTune).toBe(0);
    model.requestFineTune();
    model.learn(examples.slice(0, 1));
    // A requested phase before the period is up starts the count over.
    expect(model.toJSON().recordsSinceFineTune).toBe(0);
    model.dispose();
  });

  it('takes at most phaseStepsLimit steps per phase; at 0 a due phase waits and runs once steps come back', () => {
    const model = regressor({ every: 1, steps: 5 });
    model.phaseStepsLimit = 2;
    expect(model.learn(examples).fineTune?.steps).toBe(2);
    model.phaseStepsLimit = 0;
    expect(model.learn(examples).fineTune).toBeUndefined();
    expect(model.learn(examples).fineTune).toBeUndefined();
    expect(model.toJSON().recordsSinceFineTune).toBe(8);
    model.phaseStepsLimit = 9;
    expect(model.learn(examples).fineTune?.steps).toBe(5);
    expect(model.toJSON().recordsSinceFineTune).toBe(0);
    model.dispose();
  });

  it('rejects a step with a non-finite loss and leaves every weight unchanged', () => {
    const model = regressor();
    model.learn(examples);
    const before = [...model.network.trunkVariables(), ...model.network.headVariables()].map(values);
    const poisoned: Example[] = [{ task: 'a', x: Float32Array.of(Number.NaN, 1), y: 1, ts: 0 }, ...examples];
    expect(model.learn(poisoned).applied).toBe(false);
    expect(model.fineTuneStep(poisoned).applied).toBe(false);
    const after = [...model.network.trunkVariables(), ...model.network.headVariables()].map(values);
    expect(after).toEqual(before);
    model.dispose();
  });

  it('predicts in target units, aligned with the caller\'s order across tasks', () => {
    const model = regressor({ every: 1, steps: 1 });
    for (let i = 0; i < 300; i++) model.learn(examples);
    const predictions = model.predict(examples);
    examples.forEach((e, i) => expect(Math.abs(predictions[i]! - e.y)).toBeLessThan(0.25));
    model.dispose();
  });

  it('restores from its JSON state and then learns exactly as the original', () => {
    const original = regressor({ every: 2, steps: 3 });
    for (let i = 0; i < 5; i++) original.learn(examples);
    const restored = new OnlineRegressor(original.config, JSON.parse(JSON.stringify(original.toJSON())));
    const later: Example[] = [...examples, { task: 'c', x: Float32Array.of(0.3, 0.3), y: 4, ts: 0 }];
    for (let i = 0; i < 5; i++) {
      original.learn(later);
      restored.learn(later);
    }
    expect(Array.from(restored.predict(later))).toEqual(Array.from(original.predict(later)));
    expect(JSON.stringify(restored.toJSON())).toBe(JSON.stringify(original.toJSON()));
    original.dispose();
    restored.dispose();
  });

  it('is deterministic under a seed', () => {
    const a = regressor({ every: 2, steps: 3 });
    const b = regressor({ every: 2, steps: 3 });
    for (let i = 0; i < 6; i++) {
      a.learn(examples);
      b.learn(examples);
    }
    expect(JSON.stringify(a.toJSON())).toBe(JSON.stringify(b.toJSON()));
    a.dispose();
    b.dispose();
  });

  it('leaves no tensors behind once disposed, initial weights included', () => {
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const model = regressor();
      model.learn(examples);
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps the number of tensors constant across 1,000 batches (no leaks)', () => {
    const model = regressor({ every: 10, steps: 2 });
    model.learn(examples);
    model.predict(examples);
    const baseline = tf.memory().numTensors;
    for (let i = 0; i < 1000; i++) {
      model.predict(examples);
      model.learn(examples);
    }
    expect(tf.memory().numTensors).toBe(baseline);
    model.dispose();
  });

  it('deferred: holds the trunk copy of a phase only while it owes steps (no leaks)', () => {
    const model = regressor({ every: 1, steps: 3 });
    model.deferredReplay = true;
    model.learn(examples);
    while (model.replayStep());
    const baseline = tf.memory().numTensors;
    for (let i = 0; i < 200; i++) {
      model.learn(examples);
      model.replayStep();
    }
    while (model.replayStep());
    expect(tf.memory().numTensors).toBe(baseline);
    model.dispose();
  });
});
