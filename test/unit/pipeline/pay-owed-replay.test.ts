import { firstValueFrom, of, tap, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ReplayProgress } from '../../../src/model/online-model.js';
import type { Stepwise } from '../../../src/model/stepwise.js';
import { payOwedReplay, type OwedReplay } from '../../../src/pipeline/pay-owed-replay.js';

describe('payOwedReplay', () => {
  it('pays what is owed before passing a batch on, a pause between two steps, and tells what it paid', async () => {
    const log: string[] = [];
    let owed = 2;
    const model: OwedReplay = {
      get replayOwedBeforeScoring() {
        return owed;
      },
      *payOwedInSteps(): Stepwise<ReplayProgress> {
        while (owed > 0) {
          log.push(`step (${owed} owed)`);
          owed -= 1;
          if (owed > 0) yield;
        }
        return { phasesBegun: 0, steps: 2, rejectedSteps: 0, seconds: 0, phasesEnded: [{ steps: 2, rejectedSteps: 0, seconds: 0 }] };
      },
    };
    const reported: ReplayProgress[] = [];
    const pause = (): Promise<void> => {
      log.push('pause');
      return Promise.resolve();
    };
    const out = await firstValueFrom(
      of('batch 1', 'batch 2').pipe(
        payOwedReplay<string>(model, pause, (p) => reported.push(p)),
        tap((batch) => log.push(batch)),
        toArray(),
      ),
    );
    expect(out).toEqual(['batch 1', 'batch 2']);
    expect(log).toEqual(['step (2 owed)', 'pause', 'step (1 owed)', 'batch 1', 'batch 2']);
    expect(reported).toHaveLength(1);
  });
});
