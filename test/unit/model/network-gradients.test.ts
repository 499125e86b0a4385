import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../src/model/backend.js';
import { meanSquaredError } from '../../../src/model/mean-squared-error.js';
import { TrunkHeadsNetwork } from '../../../src/model/trunk-heads-network.js';
import type { ArchitectureSpec } from '../../../src/spec/architecture-spec.js';

const base: ArchitectureSpec = { inputDim: 6, hidden: [24, 16], headHidden: [], activation: 'relu', sigmaW2: 2, sigmaB2: 0.1 };

interface Case {
  readonly name: string;
  readonly spec: ArchitectureSpec;
  readonly trainTrunk: boolean;
}

const cases: Case[] = [
  { name: 'ReLU, linear heads, trunk trained', spec: base, trainTrunk: true },
  { name: 'ReLU, linear heads, trunk frozen', spec: base, trainTrunk: false },
  { name: 'ReLU, heads with a hidden layer, trunk trained', spec: { ...base, headHidden: [8] }, trainTrunk: true },
  { name: 'ReLU, heads with a hidden layer, trunk frozen', spec: { ...base, headHidden: [8] }, trainTrunk: false },
  { name: 'erf (through the tape), trunk trained', spec: { ...base, activation: 'erf', headHidden: [8] }, trainTrunk: true },
];

/** What tf.variableGrads gives for the same loss: the network's forward pass on the tape. */
function tapedGradients(network: TrunkHeadsNetwork, input: tf.Tensor2D, slots: tf.Tensor1D, targets: tf.Tensor2D, trainTrunk: boolean): { loss: number; gradients: Float32Array[] } {
  return tf.tidy(() => {
    const variables = trainTrunk ? [...network.trunkVariables(), ...network.headVariables()] : network.headVariables();
    const frozen = trainTrunk ? undefined : network.forwardTrunk(input);
    const { value, grads } = tf.variableGrads(() => meanSquaredError(network.forwardHeads(frozen ?? network.forwardTrunk(input), slots, trainTrunk), targets), variables);
    return { loss: value.dataSync()[0]!, gradients: variables.map((v) => grads[v.name]!.dataSync() as Float32Array) };
  });
}

describe('TrunkHeadsNetwork.lossAndGradients', () => {
  beforeAll(async () => {
    await selectBackend('auto');
  });

  for (const { name, spec, trainTrunk } of cases) {
    it(`gives what tf.variableGrads gives, bit for bit: ${name}`, () => {
      const network = new TrunkHeadsNetwork(spec, 11);
      // Five heads, rows of four of them out of order; the fifth gets no row and so a zero gradient.
      const slotsOfRows = Array.from({ length: 29 }, (_, i) => network.head(`task-${(i * 3) % 4}`));
      network.head('task-absent');
      const input = tf.randomNormal<tf.Rank.R2>([29, spec.inputDim], 0, 1, 'float32', 5);
      const slots = tf.tensor1d(slotsOfRows, 'int32');
      const targets = tf.randomNormal<tf.Rank.R2>([29, 1], 0, 1, 'float32', 6);
      const before = tf.memory().numTensors;
      const ours = tf.tidy(() => {
        const { loss, gradients } = network.lossAndGradients(input, slots, targets, trainTrunk);
        return { loss: loss.dataSync()[0]!, gradients: gradients.map((g) => g.dataSync() as Float32Array) };
      });
      expect(tf.memory().numTensors).toBe(before);
      const theirs = tapedGradients(network, input, slots, targets, trainTrunk);
      expect(ours.loss).toBe(theirs.loss);
      expect(ours.gradients).toHaveLength((trainTrunk ? 2 * spec.hidden.length : 0) + 2 * (spec.headHidden.length + 1));
      ours.gradients.forEach((g, i) => {
        expect(g).toEqual(theirs.gradients[i]);
        expect(g.some((v) => v !== 0)).toBe(true);
      });
      // The read-out's weights of the slot no row uses: [slots, fanIn, 1], that slot's entries all 0.
      const readout = ours.gradients[ours.gradients.length - 2]!;
      const fanIn = spec.headHidden.length > 0 ? spec.headHidden[spec.headHidden.length - 1]! : spec.hidden[spec.hidden.length - 1]!;
      const absent = network.head('task-absent');
      expect(readout.subarray(absent * fanIn, (absent + 1) * fanIn).every((v) => v === 0)).toBe(true);
      tf.dispose([input, slots, targets]);
      network.dispose();
    });
  }
});
