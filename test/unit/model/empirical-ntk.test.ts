import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Activation, ArchitectureSpec } from '../../../src/spec/architecture-spec.js';
import { selectBackend } from '../../../src/model/backend.js';
import { TrunkHeadsNetwork } from '../../../src/model/trunk-heads-network.js';
import { gramMatrix } from '../../../src/ntk/index.js';

/**
 * DESIGN §3: the network and the kernel come from one spec, so a wide
 * instance's empirical NTK — inner products of the gradients of the scalar
 * output with respect to every parameter (trunk and head) — must approach the
 * analytic Θ of src/ntk. At width 1024 one network's Θ fluctuates by ~5–20%
 * per entry, so the test averages over 32 independently seeded networks
 * (expected Θ is the analytic one exactly for one hidden layer, up to O(1/n)
 * for two) and asks every entry to be within 5%.
 */

// Five points in 3-D with mixed angles (one pair nearly orthogonal, one obtuse),
// none so opposed that an analytic entry is near zero and a relative error meaningless.
const points = [
  [1, 0.5, 0.2],
  [0.3, 1, 0.4],
  [0.6, -0.2, 1],
  [1.2, 1, 0.8],
  [0.5, 0.1, -0.4],
];
const seeds = 32;

/** The empirical NTK of one network at `points`: J·Jᵀ over all trunk and head parameters. */
function empiricalNtk(network: TrunkHeadsNetwork): Float64Array {
  const variables = [...network.trunkVariables(), ...network.headVariables()];
  const jacobian = tf.tidy(() =>
    tf.stack(
      points.map((x) => {
        const { grads } = tf.variableGrads(
          () => tf.sum(network.forward(tf.tensor2d([x]), [{ task: 'task', start: 0, count: 1 }])) as tf.Scalar,
          variables,
        );
        return tf.concat(variables.map((v) => tf.reshape(grads[v.name]!, [-1])));
      }),
    ),
  );
  const gram = tf.tidy(() => tf.matMul(jacobian, jacobian, false, true).dataSync());
  jacobian.dispose();
  return Float64Array.from(gram);
}

function meanEmpiricalNtk(spec: ArchitectureSpec, analytic: Float64Array): { mean: Float64Array; parameters: number; singleErrors: number[] } {
  const n = points.length;
  const mean = new Float64Array(n * n);
  const singleErrors: number[] = [];
  let parameters = 0;
  for (let s = 0; s < seeds; s++) {
    const network = new TrunkHeadsNetwork(spec, 20_000 + 7919 * s);
    network.head('task');
    // The stacked heads hold spare slots (zero gradient, no part in Θ̂): one head's share is counted.
    const size = (variables: tf.Variable[]): number => variables.reduce((sum, v) => sum + v.size, 0);
    parameters = size(network.trunkVariables()) + size(network.headVariables()) / network.slotCapacity;
    const gram = empiricalNtk(network);
    singleErrors.push(maxRelativeError(gram, analytic));
    for (let k = 0; k < n * n; k++) mean[k]! += gram[k]! / seeds;
    network.dispose();
  }
  return { mean, parameters, singleErrors: singleErrors.sort((a, b) => a - b) };
}

function maxRelativeError(empirical: Float64Array, analytic: Float64Array): number {
  let worst = 0;
  for (let k = 0; k < analytic.length; k++) worst = Math.max(worst, Math.abs(empirical[k]! - analytic[k]!) / Math.abs(analytic[k]!));
  return worst;
}

const cases: { activation: Activation; hidden: number[]; sigmaW2: number }[] = [
  { activation: 'relu', hidden: [1024], sigmaW2: 2 },
  { activation: 'relu', hidden: [1024, 1024], sigmaW2: 2 },
  { activation: 'erf', hidden: [1024], sigmaW2: 1.5 },
  { activation: 'erf', hidden: [1024, 1024], sigmaW2: 1.5 },
];

describe('empirical NTK of a wide network vs the analytic NTK of the same spec', () => {
  beforeAll(async () => {
    await selectBackend('auto');
  });

  it.each(cases)('$activation, trunk $hidden, linear head: every entry within 5% (mean of 32 seeds)', ({ activation, hidden, sigmaW2 }) => {
    const spec: ArchitectureSpec = { inputDim: 3, hidden, headHidden: [], activation, sigmaW2, sigmaB2: 0.1 };
    const X = Float64Array.from(points.flat());
    const analytic = gramMatrix(spec, X, 'ntk');
    const { mean, parameters, singleErrors } = meanEmpiricalNtk(spec, analytic);
    const error = maxRelativeError(mean, analytic);
    // The comparison can fail: the NNGP kernel of the same spec (a different,
    // smaller kernel) is far from the empirical NTK.
    const againstNngp = maxRelativeError(mean, gramMatrix(spec, X, 'nngp'));
    console.log(
      `[empirical-ntk] ${activation} hidden [${hidden.join(', ')}] (${parameters.toLocaleString('en-US')} parameters): ` +
        `max relative error vs analytic NTK ${(100 * error).toFixed(2)}% (one network alone: median ${(100 * singleErrors[seeds / 2]!).toFixed(1)}%, ` +
        `worst ${(100 * singleErrors[seeds - 1]!).toFixed(1)}%), vs NNGP ${(100 * againstNngp).toFixed(0)}%`,
    );
    expect(error).toBeLessThan(0.05);
    expect(againstNngp).toBeGreaterThan(0.25);
  });
});
