import { setFlagsFromString } from 'node:v8';

/**
 * Keeps the process's resident memory level. The records a consumer holds in
 * flight live long enough to be promoted to V8's old generation and die
 * there; with V8's own growth heuristic the old generation then swings
 * between collections by more than the live heap itself (70 → 210 MiB over a
 * million records, RSS ±18%), which is what a memory limit must be sized for.
 * A fixed growth factor makes major collections come sooner and smaller
 * (RSS within ±1% on the memory benchmark's stream), at some CPU: docs/deploy.md
 * has both figures. Set after start-up, it applies from the next major
 * collection on (that is what the benchmark measures: the consumer sets it
 * in-process, as here).
 */
export function applyHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
