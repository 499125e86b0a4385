import { TRIANGULAR_KERNELS_WASM_BASE64 } from './wasm/triangular-kernels-binary.js';

/**
 * Which implementation runs the factor's O(N²) loops: WebAssembly with
 * 128-bit SIMD (two float64 lanes per instruction, no bounds checks), or the
 * plain TypeScript loops, kept as the fallback and as the test oracle.
 */
export type TriangularBackend = 'wasm-simd' | 'typescript';

/** Float64s of scratch that {@link TriangularKernels.replaceOldest} may overwrite (the WebAssembly slide keeps its rotation constants there). */
export const SLIDE_SCRATCH_ELEMENTS = 32;

/**
 * The O(N²) loops of a sliding-window Cholesky factor, over one heap of
 * float64s that holds the factor and its work vectors. Arguments are counts
 * and element offsets into {@link heap}; the factor is column-major with a
 * column stride of `stride` (entry (i, j), i ≥ j, at `factor + j·stride + i`).
 */
export interface TriangularKernels {
  readonly backend: TriangularBackend;
  /** The storage every offset refers to; for WebAssembly a view of the instance's memory. */
  readonly heap: Float64Array;
  /** `b ← L⁻¹b` (first n entries). */
  forwardSubstitute(n: number, stride: number, factor: number, b: number): void;
  /** `y ← L⁻ᵀy` (first n entries). */
  backwardSubstitute(n: number, stride: number, factor: number, y: number): void;
  /**
   * Removes the factor's first point: rotates `update` (preloaded with the old
   * column 0 below its head) into the trailing block, written one column and
   * one row up-left, leaving the (n − 1)-point factor.
   */
  evictOldest(n: number, stride: number, factor: number, update: number): void;
  /**
   * {@link evictOldest}, with `l ← L̃⁻¹l` against the new factor L̃ done in the
   * same pass; `scratch` is {@link SLIDE_SCRATCH_ELEMENTS} float64s apart from
   * everything else.
   */
  replaceOldest(n: number, stride: number, factor: number, update: number, l: number, scratch: number): void;
  /** `out ← L(Lᵀv)`, with `transposed` as scratch for `Lᵀv`; the three vectors distinct. */
  multiply(n: number, stride: number, factor: number, v: number, out: number, transposed: number): void;
}

/**
 * Kernels over a new heap of `elements` float64s: WebAssembly SIMD unless
 * `backend` asks for TypeScript, or the runtime lacks WebAssembly SIMD, or
 * the heap does not fit a 32-bit WebAssembly memory.
 */
export function triangularKernels(elements: number, backend: TriangularBackend = defaultBackend()): TriangularKernels {
  if (backend === 'wasm-simd') {
    const kernels = wasmKernels(elements);
    if (kernels) return kernels;
  }
  return typescriptKernels(new Float64Array(elements));
}

/** The backend {@link triangularKernels} picks by default on this runtime. */
export function defaultBackend(): TriangularBackend {
  return compiledModule() ? 'wasm-simd' : 'typescript';
}

const PAGE_BYTES = 65536;
// A 32-bit WebAssembly memory holds at most 65536 pages of 64 KiB.
const MAX_PAGES = 65536;

// The part of the WebAssembly JavaScript API used here (the project's type
// libraries declare no DOM, where these types live).
interface WasmModule {
  readonly kind?: 'module';
}
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => WasmModule;
  readonly Memory: new (descriptor: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer };
  readonly Instance: new (module: WasmModule, imports: object) => { readonly exports: object };
}
const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

let wasmModule: WasmModule | null | undefined;

function compiledModule(): WasmModule | null {
  if (wasmModule === undefined) {
    try {
      if (!wasmApi) throw new Error('no WebAssembly');
      wasmModule = new wasmApi.Module(Buffer.from(TRIANGULAR_KERNELS_WASM_BASE64, 'base64'));
    } catch {
      // No SIMD (or no WebAssembly) in this runtime: the TypeScript loops serve.
      wasmModule = null;
    }
  }
  return wasmModule ?? null;
}

interface WasmExports {
  forwardSubstitute(n: number, stride: number, factor: number, b: number): void;
  backwardSubstitute(n: number, stride: number, factor: number, y: number): void;
  evictOldest(n: number, stride: number, factor: number, update: number): void;
  replaceOldest(n: number, stride: number, factor: number, update: number, l: number, scratch: number): void;
  multiply(n: number, stride: number, factor: number, v: number, out: number, transposed: number): void;
}

function wasmKernels(elements: number): TriangularKernels | null {
  const module = compiledModule();
  const pages = Math.max(1, Math.ceil((elements * 8) / PAGE_BYTES));
  if (!module || !wasmApi || pages > MAX_PAGES) return null;
  let memory: { readonly buffer: ArrayBuffer };
  try {
    memory = new wasmApi.Memory({ initial: pages, maximum: pages });
  } catch {
    // The process ran out of address space for WebAssembly memories.
    return null;
  }
  const exports = new wasmApi.Instance(module, { env: { memory } }).exports as unknown as WasmExports;
  // The memory never grows, so this view stays valid.
  const heap = new Float64Array(memory.buffer, 0, elements);
  return {
    backend: 'wasm-simd',
    heap,
    forwardSubstitute: (n, stride, factor, b) => exports.forwardSubstitute(n, stride, 8 * factor, 8 * b),
    backwardSubstitute: (n, stride, factor, y) => exports.backwardSubstitute(n, stride, 8 * factor, 8 * y),
    evictOldest: (n, stride, factor, update) => exports.evictOldest(n, stride, 8 * factor, 8 * update),
    replaceOldest: (n, stride, factor, update, l, scratch) => exports.replaceOldest(n, stride, 8 * factor, 8 * update, 8 * l, 8 * scratch),
    multiply: (n, stride, factor, v, out, transposed) => exports.multiply(n, stride, 8 * factor, 8 * v, 8 * out, 8 * transposed),
  };
}

function typescriptKernels(heap: Float64Array): TriangularKernels {
  return {
    backend: 'typescript',
    heap,
    forwardSubstitute(n, stride, factor, b) {
      for (let j = 0; j < n; j++) {
        const column = factor + j * stride;
        const solved = heap[b + j] / heap[column + j];
        heap[b + j] = solved;
        for (let i = j + 1; i < n; i++) heap[b + i] -= heap[column + i] * solved;
      }
    },
    backwardSubstitute(n, stride, factor, y) {
      for (let i = n - 1; i >= 0; i--) {
        const column = factor + i * stride;
        let sum = heap[y + i];
        for (let j = i + 1; j < n; j++) sum -= heap[column + j] * heap[y + j];
        heap[y + i] = sum / heap[column + i];
      }
    },
    evictOldest(n, stride, factor, update) {
      sweep(heap, n, stride, factor, update, -1);
    },
    replaceOldest(n, stride, factor, update, l) {
      sweep(heap, n, stride, factor, update, l);
    },
    multiply(n, stride, factor, v, out, transposed) {
      for (let j = 0; j < n; j++) {
        const column = factor + j * stride;
        let sum = 0;
        for (let i = j; i < n; i++) sum += heap[column + i] * heap[v + i];
        heap[transposed + j] = sum;
      }
      heap.fill(0, out, out + n);
      for (let j = 0; j < n; j++) {
        const column = factor + j * stride;
        const weight = heap[transposed + j];
        for (let i = j; i < n; i++) heap[out + i] += heap[column + i] * weight;
      }
    },
  };
}

// The Givens sweep of an eviction; with l ≥ 0 also forward-substitutes l
// against each new column while it is in cache (the fused slide).
//
// The update vector x is carried scaled, x̂ = x / γ with γ the product of the
// cosines so far. A rotation (c, s) then costs three multiplications per
// entry instead of four: L' = c·L + (s·γ)·x̂ and x̂' = x̂ − (s / (c·γ))·L,
// since x' = c·x − s·L = c·γ·x̂'. γ stays ≥ √(λ_min / a₁₁) (its final value
// is the evicted point's variance left unexplained by the others, relative to
// its own), so x̂ can neither overflow nor lose precision to scaling.
function sweep(heap: Float64Array, n: number, stride: number, factor: number, update: number, l: number): void {
  const remaining = n - 1;
  let scale = 1;
  for (let k = 0; k < remaining; k++) {
    // New column k is old column k + 1 shifted up one row; old column k was consumed at step k − 1.
    const source = factor + (k + 1) * stride + 1;
    const target = factor + k * stride;
    const pivot = heap[source + k];
    const incoming = scale * heap[update + k];
    const radius = Math.sqrt(pivot * pivot + incoming * incoming);
    const cosine = pivot / radius;
    const carriedWeight = (incoming / radius) * scale;
    const oldWeight = incoming / (pivot * scale);
    scale *= cosine;
    heap[target + k] = radius;
    if (l < 0) {
      for (let i = k + 1; i < remaining; i++) {
        const old = heap[source + i];
        const carried = heap[update + i];
        heap[target + i] = cosine * old + carriedWeight * carried;
        heap[update + i] = carried - oldWeight * old;
      }
      continue;
    }
    const solved = heap[l + k] / radius;
    heap[l + k] = solved;
    for (let i = k + 1; i < remaining; i++) {
      const old = heap[source + i];
      const carried = heap[update + i];
      const updated = cosine * old + carriedWeight * carried;
      heap[target + i] = updated;
      heap[update + i] = carried - oldWeight * old;
      heap[l + i] -= updated * solved;
    }
  }
}
