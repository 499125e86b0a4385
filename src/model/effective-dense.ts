import type { ArchitectureSpec } from '../spec/architecture-spec.js';

/** A dense layer as the network computes it: `a·W + b` with the NTK scales already applied, in float32 as tfjs rounds them. */
export interface EffectiveDense {
  /** [fanIn, width] row-major: `fround(W·fround(σ_w/√fan_in))`. */
  readonly weight: Float32Array;
  /** `fround(b·fround(σ_b))`. */
  readonly bias: Float32Array;
  readonly fanIn: number;
  readonly width: number;
}

/**
 * A layer's parameters as the network multiplies by them, `tf.mul(W, σ_w/√fan_in)`
 * and `tf.mul(b, σ_b)` in float32: the product of two float32 numbers is exact
 * in float64, so one fround gives tfjs' result bit for bit.
 */
export function effectiveDense(weight: Float32Array, bias: Float32Array, spec: ArchitectureSpec): EffectiveDense {
  const width = bias.length;
  const fanIn = weight.length / width;
  const weightScale = Math.fround(Math.sqrt(spec.sigmaW2 / fanIn));
  const biasScale = Math.fround(Math.sqrt(spec.sigmaB2));
  return {
    weight: Float32Array.from(weight, (w) => Math.fround(w * weightScale)),
    bias: Float32Array.from(bias, (b) => Math.fround(b * biasScale)),
    fanIn,
    width,
  };
}
