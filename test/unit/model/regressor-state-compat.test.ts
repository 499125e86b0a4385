import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../src/model/backend.js';
import { OnlineRegressor, type OnlineRegressorState, type RegressorTaskState } from '../../../src/model/online-regressor.js';
import type { Example } from '../../../src/spec/example.js';
import { fixtureConfig, fixtureQueries } from '../../fixtures/model/regressor-state-fixture.js';

/** Saved by the network that kept one set of tfjs variables per head (test/fixtures/model/write-regressor-state.ts). */
const saved = JSON.parse(readFileSync(new URL('../../fixtures/model/regressor-state-v1.json', import.meta.url), 'utf8')) as {
  regressor: OnlineRegressorState;
  taskB: RegressorTaskState;
  predictions: number[];
};

const closeTo = (actual: Float32Array, expected: readonly number[]): void =>
  expected.forEach((e, i) => expect(Math.abs(actual[i]! - e)).toBeLessThan(1e-5 * Math.max(1, Math.abs(e))));

describe('saved regressor states', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it('restores a checkpoint written before the heads were stacked: same predictions, same state written back', () => {
    const model = new OnlineRegressor(fixtureConfig, saved.regressor);
    // The one field renamed since: the phase cadence counted batches, it now counts their records.
    const { batchesSinceFineTune, ...unchanged } = saved.regressor;
    expect(model.toJSON()).toEqual({ ...unchanged, recordsSinceFineTune: batchesSinceFineTune! * fixtureConfig.fineTune.batchSize });
    closeTo(model.predict(fixtureQueries), saved.predictions);
    model.dispose();
  });

  it('restores the phase cadence of a checkpoint that counted batches: that many full batches of records', () => {
    const model = new OnlineRegressor(fixtureConfig, { ...saved.regressor, batchesSinceFineTune: 2 });
    expect(model.toJSON().recordsSinceFineTune).toBe(2 * fixtureConfig.fineTune.batchSize);
    model.dispose();
  });

  it('restores a task state from the state changelog written before the heads were stacked', () => {
    const model = new OnlineRegressor(fixtureConfig, { ...saved.regressor, network: { ...saved.regressor.network, heads: [] } });
    expect(model.hasTask('b')).toBe(false);
    model.loadTask('b', saved.taskB);
    expect(model.taskState('b')).toEqual(saved.taskB);
    const queries = fixtureQueries.filter((q) => q.task === 'b');
    closeTo(model.predict(queries), saved.predictions.filter((_, i) => fixtureQueries[i]!.task === 'b'));
    model.dispose();
  });

  it('keeps every head exactly through slot growth, removal and reuse; a step moves only its own tasks', () => {
    const model = new OnlineRegressor(fixtureConfig, saved.regressor);
    const before = new Map(['a', 'b', 'c', 'd'].map((task) => [task, model.taskState(task).head]));
    const capacity = model.network.slotCapacity;
    for (let t = 0; t < 3 * capacity; t++) model.network.head(`new-${t}`);
    expect(model.network.slotCapacity).toBeGreaterThan(capacity);
    model.forgetTask('new-0');
    model.network.head('reuses-a-slot');
    for (const [task, head] of before) expect(model.taskState(task).head).toEqual(head);

    const batch: Example[] = [0, 1, 2, 3].map((k) => ({ task: 'reuses-a-slot', x: Float32Array.of(k, -k, 0.5), y: k, ts: 0 }));
    const trained = model.taskState('reuses-a-slot').head;
    expect(model.learn([...batch, { task: 'c', x: Float32Array.of(1, 1, 1), y: 9, ts: 0 }]).applied).toBe(true);
    expect(model.taskState('reuses-a-slot').head).not.toEqual(trained);
    expect(model.taskState('c').head).not.toEqual(before.get('c'));
    for (const task of ['a', 'b', 'd']) expect(model.taskState(task).head).toEqual(before.get(task));
    model.dispose();
  });
});
