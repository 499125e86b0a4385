/**
 * The one description of tangent's network. It builds the TensorFlow.js
 * network (trunk + per-task heads) and drives the analytic NTK/NNGP kernel
 * recursion, so the two can never drift apart.
 */
export type Activation = 'relu' | 'erf';

export interface ArchitectureSpec {
  /** Number of input features, D₀. */
  readonly inputDim: number;
  /** Widths of the shared trunk's hidden layers. */
  readonly hidden: readonly number[];
  /** Widths of each task head's hidden layers (before its linear read-out). */
  readonly headHidden: readonly number[];
  readonly activation: Activation;
  /** Weight variance σ_w² of the NTK parameterisation. */
  readonly sigmaW2: number;
  /** Bias variance σ_b² of the NTK parameterisation. */
  readonly sigmaB2: number;
}

/**
 * Widths of every dense layer's output, input to read-out: the trunk's hidden
 * layers, the head's hidden layers, then the scalar read-out. The kernel
 * recursion runs over exactly these layers.
 */
export function layerWidths(spec: ArchitectureSpec): number[] {
  return [...spec.hidden, ...spec.headHidden, 1];
}

/** True when two specs describe the same network (used to refuse a mismatched pretrained trunk). */
export function sameTrunk(a: ArchitectureSpec, b: ArchitectureSpec): boolean {
  return (
    a.inputDim === b.inputDim &&
    a.activation === b.activation &&
    a.sigmaW2 === b.sigmaW2 &&
    a.sigmaB2 === b.sigmaB2 &&
    a.hidden.length === b.hidden.length &&
    a.hidden.every((w, i) => w === b.hidden[i])
  );
}
