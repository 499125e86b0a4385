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
  return { weight: scaled(weight, weightScale), bias: scaled(bias, biasScale), fanIn, width };
}

/**
 * `values` times `scale`, rounded as float32 stores it. A plain loop: every
 * serving snapshot scales every weight, and `Float32Array.from` with a mapping
 * function walks an iterator, allocating a result object per element.
 */
function scaled(values: Float32Array, scale: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i]! * scale;
  return out;
}
