import { beforeAll, describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../../../src/config/load-pipeline-config.js';
import { FriedmanStream, defaultFriedmanOptions } from '../../../src/demo/friedman.js';
import { LearningSession } from '../../../src/learning-session.js';
import { selectBackend } from '../../../src/model/backend.js';
import type { Example, Query } from '../../../src/spec/example.js';

const config = parsePipelineConfig({ model: { backend: 'cpu', hidden: [16], seed: 5 }, ntkgp: { window: 32 } });

function examples(seed: number, count: number): Example[] {
  const stream = new FriedmanStream({ ...defaultFriedmanOptions, seed, tasks: ['a', 'b'] });
  return Array.from({ length: count }, () => {
    const { task, x, y } = stream.next();
    return { task, x: Float32Array.from(x), y, ts: 0 };
  });
}

const queries: Query[] = examples(99, 8).map(({ task, x, ts }) => ({ task, x, ts }));
const ofTask = (task: string): Query[] => queries.filter((q) => q.task === task);

/** A session that has learned a few batches of two tasks. */
function trainedSession(ntkgp = true): LearningSession {
  const session = new LearningSession(ntkgp ? config : { ...config, ntkgp: { ...config.ntkgp, enabled: false } }, () => undefined);
  for (let i = 0; i < 4; i += 1) {
    const batch = examples(i + 1, 32);
    for (const model of session.models) model.learn(batch);
  }
  return session;
}

beforeAll(async () => {
  await selectBackend('cpu');
});

describe('each OnlineModel owns its state, restore and forgetting', () => {
  it('a task state taken through the interface restores the task exactly after the model forgot it', () => {
    const session = trainedSession();
    expect(session.models.map((m) => m.stateField)).toEqual(['network', 'ntkgp']);
    for (const model of session.models) {
      const saved = model.taskState('a');
      const before = model.predict(ofTask('a'));
      const otherBefore = model.predict(ofTask('b'));
      model.forgetTask('a');
      expect(model.predict(ofTask('a')), model.model).not.toEqual(before);
      model.loadTask('a', saved);
      expect(model.predict(ofTask('a')), model.model).toEqual(before);
      expect(model.taskState('a'), model.model).toEqual(saved);
      // Forgetting and restoring one task leaves the others alone.
      expect(model.predict(ofTask('b')), model.model).toEqual(otherBefore);
    }
    session.dispose();
  });

  it('the NTK-GP given no state for a task holds nothing for it', () => {
    const session = trainedSession();
    const gp = session.models.find((m) => m.stateField === 'ntkgp')!;
    expect(gp.taskState('a')).toBeDefined();
    gp.loadTask('a', null);
    expect(gp.taskState('a')).toBeUndefined();
    session.dispose();
  });

  it("a checkpoint holds each model's state under its own field, and a session built from it predicts the same", () => {
    const session = trainedSession();
    const state = JSON.parse(JSON.stringify(session.capture()));
    expect(state.network).toEqual(JSON.parse(JSON.stringify(session.network.toJSON())));
    expect(state.ntkgp).toEqual(JSON.parse(JSON.stringify(session.baseline!.toJSON())));
    const restored = new LearningSession(config, () => undefined, state);
    session.models.forEach((model, i) => expect(restored.models[i]!.predict(queries), model.model).toEqual(model.predict(queries)));
    session.dispose();
    restored.dispose();
  });

  it('with the NTK-GP off, its field is null in the checkpoint', () => {
    const session = trainedSession(false);
    expect(session.models.map((m) => m.stateField)).toEqual(['network']);
    expect(session.capture().ntkgp).toBeNull();
    session.dispose();
  });
});
