import { describe, expect, it } from 'vitest';
import { addReplayProgress, ReplayDebt } from '../../../src/model/replay-debt.js';

describe('ReplayDebt', () => {
  it('pays phases oldest first and ends each with its own steps and seconds', () => {
    const debt = new ReplayDebt();
    debt.owe(2);
    debt.owe(3);
    debt.owe(0);
    expect(debt.owed).toBe(5);
    expect(debt.startsPhase).toBe(true);
    expect(debt.paid(0.5)).toBeUndefined();
    expect(debt.startsPhase).toBe(false);
    expect(debt.paid(0.25)).toEqual({ steps: 2, rejectedSteps: 0, seconds: 0.75 });
    expect(debt.startsPhase).toBe(true);
    expect(debt.owed).toBe(3);
    debt.paid(1);
    debt.paid(1);
    expect(debt.paid(1)).toEqual({ steps: 3, rejectedSteps: 0, seconds: 3 });
    expect(debt.owed).toBe(0);
    expect(debt.paid(1)).toBeUndefined();
  });

  it('ends a phase at its rejected step: the steps it had left are not owed any more', () => {
    const debt = new ReplayDebt();
    debt.owe(4);
    debt.owe(2);
    debt.paid(0.1);
    expect(debt.rejected(0.2)).toEqual({ steps: 2, rejectedSteps: 1, seconds: expect.closeTo(0.3, 10) as number });
    expect(debt.owed).toBe(2);
    expect(debt.startsPhase).toBe(true);
  });

  it('ends a phase that has nothing to replay where it is', () => {
    const debt = new ReplayDebt();
    debt.owe(3);
    expect(debt.cut(0.01)).toEqual({ steps: 0, rejectedSteps: 0, seconds: 0.01 });
    expect(debt.owed).toBe(0);
    expect(debt.cut(0.01)).toBeUndefined();
  });

  it('adds two turns of progress, keeping the newest learning-rate scale', () => {
    const phase = { steps: 1, rejectedSteps: 0, seconds: 1 };
    const a = { phasesBegun: 1, steps: 2, rejectedSteps: 1, seconds: 1, phasesEnded: [phase], learningRateScale: 0.5 };
    const b = { phasesBegun: 0, steps: 1, rejectedSteps: 0, seconds: 2, phasesEnded: [phase] };
    expect(addReplayProgress(a, b)).toEqual({ phasesBegun: 1, steps: 3, rejectedSteps: 1, seconds: 3, phasesEnded: [phase, phase], learningRateScale: 0.5 });
    expect(addReplayProgress(b, b)).not.toHaveProperty('learningRateScale');
  });
});
