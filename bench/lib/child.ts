/**
 * One benchmark in its own process (fresh heap, threads and tfjs backend):
 *   node --import tsx bench/lib/child.ts <name>
 * Reads the context from TANGENT_BENCH_CONTEXT, runs bench/benchmarks/<name>.ts,
 * adds the machine facts and writes <outDir>/<name>.json.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { contextFromEnv, loadAverage, machineFacts, sourceTree, writeJson } from './common.js';

async function main(): Promise<void> {
  const name = process.argv[2];
  if (!name) throw new Error('usage: child.ts <benchmark>');
  const ctx = contextFromEnv();
  const module = (await import(`../benchmarks/${name}.ts`)) as { run: (c: typeof ctx) => Promise<Record<string, unknown>> };
  const machine = machineFacts();
  const tree = sourceTree();
  const started = new Date();
  const t0 = performance.now();
  let result: Record<string, unknown>;
  try {
    result = await module.run(ctx);
  } finally {
    rmSync(join(ctx.rawDir, 'checkpoints'), { recursive: true, force: true });
  }
  const out = join(ctx.outDir, `${name}.json`);
  writeJson(out, {
    ...result,
    quick: ctx.quick,
    startedAt: started.toISOString(),
    wallSeconds: +((performance.now() - t0) / 1000).toFixed(1),
    machine: { ...machine, tfjsBackend: result.backend ?? null, loadAverageAfter: loadAverage() },
    tree,
  });
  process.send?.({ type: 'done', out });
}

main().then(
  () => {
    // kafkajs and tfjs may keep handles open; the result is written.
    setTimeout(() => process.exit(0), 100);
  },
  (error: unknown) => {
    process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
    process.send?.({ type: 'error', message: String((error as Error).message ?? error) });
    setTimeout(() => process.exit(1), 100);
  },
);
