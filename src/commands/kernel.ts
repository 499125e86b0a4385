import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { loadPipelineConfig } from '../config/load-pipeline-config.js';
import { UsageError } from '../errors.js';
import { specOf } from '../learning-session.js';
import { gramMatrix } from '../ntk/kernel.js';

export interface KernelOptions {
  readonly pipeline?: string;
  readonly kind: 'ntk' | 'nngp';
  readonly input?: string;
}

/** Adds `tangent kernel` to the program. */
export function addKernelCommand(program: Command): void {
  program
    .command('kernel')
    .description("the analytic NTK or NNGP Gram matrix of the pipeline's architecture, for points on stdin")
    .option('-p, --pipeline <file>', 'pipeline YAML whose model is used (default: built-in model)')
    .addOption(new Option('--kind <kind>', 'which kernel').choices(['ntk', 'nngp']).default('ntk'))
    .option('-i, --input <file>', 'read the points from this file instead of stdin')
    .addHelpText('after', '\nPoints are JSON: an array of rows, or {"points": [...]}. Prints {kind, spec, gram} as JSON.')
    .action((options: KernelOptions) => {
      process.exitCode = kernelCommand(options);
    });
}

function parsePoints(text: string, inputDim: number): Float64Array {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`input: points are not valid JSON: ${(error as Error).message}`);
  }
  const rows = Array.isArray(document) ? document : (document as { points?: unknown }).points;
  if (!Array.isArray(rows) || rows.length === 0) throw new UsageError('input: expected a non-empty array of points');
  const points = new Float64Array(rows.length * inputDim);
  rows.forEach((row: unknown, i) => {
    if (!Array.isArray(row) || row.length !== inputDim || !row.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new UsageError(`input[${i}]: expected ${inputDim} finite numbers (model.inputDim)`);
    }
    points.set(row as number[], i * inputDim);
  });
  return points;
}

/** `tangent kernel`: the analytic NTK or NNGP Gram matrix, for people checking the math. */
function kernelCommand(options: KernelOptions, stdin: () => string = () => readFileSync(0, 'utf8')): number {
  const { kind } = options;
  const spec = specOf(loadPipelineConfig(options.pipeline));
  const points = parsePoints(options.input ? readFileSync(options.input, 'utf8') : stdin(), spec.inputDim);
  const count = points.length / spec.inputDim;
  const gram = gramMatrix(spec, points, kind);
  const rows = Array.from({ length: count }, (_, i) => Array.from(gram.subarray(i * count, (i + 1) * count)));
  process.stdout.write(`${JSON.stringify({ kind, spec, gram: rows })}\n`);
  return 0;
}
