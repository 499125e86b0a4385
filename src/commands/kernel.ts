import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadPipelineConfig } from '../config/load-pipeline-config.js';
import { ConfigError } from '../errors.js';
import { specOf } from '../learning-session.js';
import { gramMatrix } from '../ntk/kernel.js';

export const kernelUsage = `tangent kernel [--pipeline FILE] [--kind ntk|nngp] [--input FILE]
  Reads points as JSON — an array of rows, or {"points": [...]} — from FILE or stdin,
  and prints the Gram matrix of the pipeline's architecture (default: built-in model) as JSON.`;

function parsePoints(text: string, inputDim: number): Float64Array {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new ConfigError('input', `points are not valid JSON: ${(error as Error).message}`);
  }
  const rows = Array.isArray(document) ? document : (document as { points?: unknown }).points;
  if (!Array.isArray(rows) || rows.length === 0) throw new ConfigError('input', 'expected a non-empty array of points');
  const points = new Float64Array(rows.length * inputDim);
  rows.forEach((row: unknown, i) => {
    if (!Array.isArray(row) || row.length !== inputDim || !row.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new ConfigError(`input[${i}]`, `expected ${inputDim} finite numbers (model.inputDim)`);
    }
    points.set(row as number[], i * inputDim);
  });
  return points;
}

/** `tangent kernel`: the analytic NTK or NNGP Gram matrix, for people checking the math. */
export function kernelCommand(argv: string[], stdin: () => string = () => readFileSync(0, 'utf8')): number {
  const { values } = parseArgs({
    args: argv,
    options: { pipeline: { type: 'string' }, kind: { type: 'string' }, input: { type: 'string' } },
    strict: true,
  });
  const kind = values.kind ?? 'ntk';
  if (kind !== 'ntk' && kind !== 'nngp') throw new ConfigError('--kind', `expected ntk or nngp, got "${kind}"`);
  const spec = specOf(loadPipelineConfig(values.pipeline));
  const points = parsePoints(values.input ? readFileSync(values.input, 'utf8') : stdin(), spec.inputDim);
  const count = points.length / spec.inputDim;
  const gram = gramMatrix(spec, points, kind);
  const rows = Array.from({ length: count }, (_, i) => Array.from(gram.subarray(i * count, (i + 1) * count)));
  process.stdout.write(`${JSON.stringify({ kind, spec, gram: rows })}\n`);
  return 0;
}
