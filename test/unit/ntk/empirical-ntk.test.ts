import { describe, expect, it } from 'vitest';
import type { ArchitectureSpec } from '../../../src/spec/architecture-spec.js';
import { kernelPair } from '../../../src/ntk/index.js';
import { type Random, erf, seededRandom } from './reference.js';

/**
 * The empirical NTK Σₚ ∂f/∂p(x)·∂f/∂p(x′) of one randomly initialised finite
 * network in the NTK parameterisation h = (σ_w/√fan_in)·W·a + σ_b·b, W, b ~ N(0, 1),
 * by explicit backpropagation, between `x` and each of `others`. Per layer l
 * with back-propagated δˡ: ∂f/∂Wˡ contributes (σ_w²/nₗ₋₁)·(δˡ·δˡ′)(aˡ⁻¹·aˡ⁻¹′)
 * and ∂f/∂bˡ contributes σ_b²·(δˡ·δˡ′).
 */
function empiricalNtk(spec: ArchitectureSpec, x: Float64Array, others: Float64Array[], random: Random): number[] {
  const widths = [spec.inputDim, ...spec.hidden, ...spec.headHidden, 1];
  const layers = widths.length - 1;
  const phi = spec.activation === 'relu' ? (u: number) => Math.max(u, 0) : erf;
  const derivative =
    spec.activation === 'relu' ? (u: number) => (u > 0 ? 1 : 0) : (u: number) => (2 / Math.sqrt(Math.PI)) * Math.exp(-u * u);
  const weights: Float64Array[] = [];
  const biases: Float64Array[] = [];
  for (let l = 0; l < layers; l++) {
    weights.push(Float64Array.from({ length: widths[l + 1] * widths[l] }, () => random.normal()));
    biases.push(Float64Array.from({ length: widths[l + 1] }, () => random.normal()));
  }
  const weightScale = (l: number): number => Math.sqrt(spec.sigmaW2 / widths[l]);
  const biasScale = Math.sqrt(spec.sigmaB2);

  const backpropagate = (input: Float64Array) => {
    const activations = [input];
    const preActivations: Float64Array[] = [];
    for (let l = 0; l < layers; l++) {
      const a = activations[l];
      const h = new Float64Array(widths[l + 1]);
      for (let i = 0; i < h.length; i++) {
        let sum = 0;
        for (let j = 0; j < widths[l]; j++) sum += weights[l][i * widths[l] + j] * a[j];
        h[i] = weightScale(l) * sum + biasScale * biases[l][i];
      }
      preActivations.push(h);
      activations.push(l < layers - 1 ? h.map(phi) : h);
    }
    const deltas: Float64Array[] = new Array<Float64Array>(layers);
    deltas[layers - 1] = Float64Array.of(1);
    for (let l = layers - 1; l > 0; l--) {
      const below = new Float64Array(widths[l]);
      for (let i = 0; i < widths[l + 1]; i++) {
        const delta = deltas[l][i] * weightScale(l);
        for (let j = 0; j < widths[l]; j++) below[j] += delta * weights[l][i * widths[l] + j];
      }
      deltas[l - 1] = below.map((value, j) => value * derivative(preActivations[l - 1][j]));
    }
    return { activations, deltas };
  };

  const dot = (p: Float64Array, q: Float64Array): number => p.reduce((sum, value, i) => sum + value * q[i], 0);
  const a = backpropagate(x);
  return others.map((xPrime) => {
    const b = backpropagate(xPrime);
    let tangent = 0;
    for (let l = 0; l < layers; l++) {
      const deltas = dot(a.deltas[l], b.deltas[l]);
      tangent += (spec.sigmaW2 / widths[l]) * deltas * dot(a.activations[l], b.activations[l]) + spec.sigmaB2 * deltas;
    }
    return tangent;
  });
}

describe('analytic NTK against wide finite networks (Monte Carlo)', () => {
  const specs: ArchitectureSpec[] = [
    { inputDim: 3, hidden: [1024], headHidden: [512], activation: 'relu', sigmaW2: 2, sigmaB2: 0.1 },
    { inputDim: 3, hidden: [512, 512], headHidden: [], activation: 'erf', sigmaW2: 1.5, sigmaB2: 0.3 },
  ];
  const x = Float64Array.of(1, -0.5, 0.3);
  // x′ generic, x itself, and −x.
  const others = [Float64Array.of(0.2, 0.9, -1.1), x, x.map((v) => -v)];
  const initialisations = 24;
  for (const spec of specs) {
    it(`${spec.activation} ${[...spec.hidden, ...spec.headHidden].join('-')}: the mean empirical NTK of ${initialisations} initialisations is within 4 standard errors`, () => {
      const random = seededRandom(spec.activation === 'relu' ? 51 : 52);
      const draws = Array.from({ length: initialisations }, () => empiricalNtk(spec, x, others, random));
      const selfKernel = kernelPair(spec, x, x);
      others.forEach((xPrime, k) => {
        const values = draws.map((draw) => draw[k]);
        const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
        const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (values.length - 1);
        const standardError = Math.sqrt(variance / values.length);
        const analytic = kernelPair(spec, x, xPrime);
        // The finite-width bias is O(1/width), well below the Monte Carlo error here.
        expect(Math.abs(mean - analytic)).toBeLessThan(4 * standardError + 0.01 * Math.abs(analytic));
        // And the check has teeth: the standard error is a few percent of the self-kernel.
        expect(standardError).toBeLessThan(0.04 * selfKernel);
      });
    });
  }
});
