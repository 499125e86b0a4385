import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CheckpointStore } from '../checkpoint/checkpoint-store.js';
import { validateLearningState, type LearningState } from '../checkpoint/learning-state.js';
import { loadPipelineConfig } from '../config/load-pipeline-config.js';
import { checkpointDirectoryOf, type PipelineConfig } from '../config/pipeline-config.js';
import { ModelError } from '../errors.js';
import { specOf } from '../learning-session.js';
import { selectBackend } from '../model/backend.js';
import { saveLayersModel, taskDirectory, taskLayersModel, type ExportIndex } from '../model/layers-export.js';

export interface ExportOptions {
  readonly pipeline?: string;
  readonly out: string;
}

/** Adds `tangent export` to the program. */
export function addExportCommand(program: Command): void {
  program
    .command('export')
    .description('write the newest checkpoint\'s model as TensorFlow.js LayersModels, one per task, loadable with tf.loadLayersModel')
    .option('-p, --pipeline <file>', 'pipeline YAML of the consumer whose checkpoint is exported (default: built-in defaults)')
    .requiredOption('-o, --out <dir>', 'directory to write: <dir>/index.json and <dir>/<task>/model.json + weights.bin')
    .addHelpText('after', '\nEach model takes the raw features x ([n, inputDim]) and returns y ([n, 1]) in the task\'s units. See docs/serving.md.')
    .action(async (options: ExportOptions) => {
      const index = await exportModels(loadPipelineConfig(options.pipeline), options.out);
      process.stderr.write(`tangent export: ${index.tasks.length} task models (model version ${index.modelVersion}) written to ${options.out}\n`);
    });
}

/** Exports every task of the newest intact checkpoint of `config`'s consumer into `out`. */
export async function exportModels(config: PipelineConfig, out: string): Promise<ExportIndex> {
  // The pure-JS backend is enough to build and serialise Dense layers, and always loads.
  await selectBackend('cpu');
  const spec = specOf(config);
  const dir = checkpointDirectoryOf(config);
  const store = new CheckpointStore<LearningState>(dir, config.checkpoint.keep);
  const restored = store.loadLatest(validateLearningState(spec));
  if (!restored) throw new ModelError(`no checkpoint in ${resolve(dir)}: run the consumer with this pipeline first`);
  const { state } = restored;
  mkdirSync(out, { recursive: true });
  const tasks: ExportIndex['tasks'][number][] = [];
  for (const { task, layers } of state.network.network.heads) {
    const targetMoments = state.network.targetMoments[task];
    if (!targetMoments) throw new ModelError(`checkpoint ${restored.file} has a head for "${task}" but no target moments`);
    const model = taskLayersModel({ spec, trunk: state.network.network.trunk, head: layers, featureMoments: state.featureMoments, targetMoments, clip: { sigmas: config.scaling.clipSigmas, warmup: config.scaling.warmup } });
    const path = taskDirectory(task);
    await saveLayersModel(model, join(out, path), { task, modelVersion: state.position.batches, labeledRecords: targetMoments.count, inputDim: spec.inputDim });
    model.dispose();
    tasks.push({ task, path });
  }
  const index: ExportIndex = {
    format: 'tangent-export',
    version: 1,
    modelVersion: state.position.batches,
    inputDim: spec.inputDim,
    tasks,
    exportedFrom: restored.file,
  };
  writeFileSync(join(out, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
  return index;
}
