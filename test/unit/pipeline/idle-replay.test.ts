import { describe, expect, it } from 'vitest';
import type { ReplayProgress } from '../../../src/model/online-model.js';
import { IdleReplay, type OwesReplay } from '../../../src/pipeline/idle-replay.js';
import { LearningTurns } from '../../../src/pipeline/learning-turns.js';

/** A model owing `owed` steps; each step logs itself and runs `during` (what else happens meanwhile). */
function owing(owed: number, log: string[], during: (step: number) => void = () => undefined): OwesReplay {
  let taken = 0;
  return {
    get replayOwed() {
      return owed - taken;
    },
    replayStep(): ReplayProgress | undefined {
      if (taken === owed) return undefined;
      taken += 1;
      log.push(`step ${taken}`);
      during(taken);
      return { phasesBegun: 0, steps: 1, rejectedSteps: 0, seconds: 0, phasesEnded: [] };
    },
  };
}

const settled = async (model: OwesReplay): Promise<void> => {
  for (let i = 0; i < 1000 && model.replayOwed > 0; i++) await new Promise((resolve) => setImmediate(resolve));
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('IdleReplay', () => {
  it('pays owed steps one per turn while nothing else asks for one, each reported', async () => {
    const log: string[] = [];
    const turns = new LearningTurns();
    let inTurn = 0;
    const model = owing(3, log, () => void (inTurn += turns.busy ? 1 : 0));
    const reported: ReplayProgress[] = [];
    const replay = new IdleReplay(model, turns, (p) => reported.push(p), (error) => { throw error; });
    replay.observe();
    await settled(model);
    expect(log).toEqual(['step 1', 'step 2', 'step 3']);
    expect(inTurn).toBe(3);
    expect(reported).toHaveLength(3);
    expect(model.replayOwed).toBe(0);
  });

  it('waits for the turn it was told from (a minibatch) to end before the first step', async () => {
    const log: string[] = [];
    const turns = new LearningTurns();
    const model = owing(2, log);
    const replay = new IdleReplay(model, turns, () => undefined, (error) => { throw error; });
    const batch = turns.run(async () => {
      replay.observe();
      await new Promise((resolve) => setImmediate(resolve));
      log.push('batch ends');
    });
    await batch;
    await settled(model);
    expect(log).toEqual(['batch ends', 'step 1', 'step 2']);
  });

  it('lets a turn asked for during a step go before the next step, and a waiting record in first', async () => {
    const log: string[] = [];
    const turns = new LearningTurns();
    const model = owing(3, log, (step) => {
      if (step !== 1) return;
      // A record the source holds back while the step runs, then the minibatch it closes.
      void turns.whenFree()!.then(() => log.push('record emitted'));
      void turns.run(() => void log.push('batch'));
    });
    const replay = new IdleReplay(model, turns, () => undefined, (error) => { throw error; });
    replay.observe();
    await settled(model);
    expect(log).toEqual(['step 1', 'batch', 'record emitted', 'step 2', 'step 3']);
  });

  it('runs no step once stopped, also one already scheduled', async () => {
    const log: string[] = [];
    const turns = new LearningTurns();
    const model = owing(3, log, (step) => {
      if (step === 1) replay.stop();
    });
    const replay = new IdleReplay(model, turns, () => undefined, (error) => { throw error; });
    replay.observe();
    await settled(model);
    expect(log).toEqual(['step 1']);
    expect(model.replayOwed).toBe(2);
  });

  it('stops and reports a step that throws', async () => {
    const turns = new LearningTurns();
    const failures: unknown[] = [];
    const model: OwesReplay = {
      replayOwed: 1,
      replayStep: () => {
        throw new Error('step failed');
      },
    };
    const replay = new IdleReplay(model, turns, () => undefined, (error) => failures.push(error));
    replay.observe();
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(failures.map((e) => (e as Error).message)).toEqual(['step failed']);
    replay.observe();
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(failures).toHaveLength(1);
  });
});
