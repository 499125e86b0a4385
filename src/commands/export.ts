import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { CheckpointStore } from '../checkpoint/checkpoint-store.js';
import { validateLearningState, type LearningState } from '../checkpoint/learning-state.js';
import { newestMergedTrunk } from '../checkpoint/trunk-sync.js';
import { loadPipelineConfig } from '../config/load-pipeline-config.js';
import { checkpointDirectoryOf, stateTopicOf, trunkTopicOf, type PipelineConfig } from '../config/pipeline-config.js';
import { ModelError } from '../errors.js';
import { CompactedTopicView } from '../kafka/compacted-topic-view.js';
import { createKafka } from '../kafka/kafka-client.js';
import { readTaskStates, readTrunkRecords } from '../kafka/task-state-topic.js';
import { specOf } from '../learning-session.js';
import { createLogger } from '../logger.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import { saveLayersModel, taskDirectory, taskLayersModel, type ExportIndex, type FeatureBounds } from '../model/layers-export.js';
import { selectBackend } from '../model/backend.js';
import { RunningMoments, type RunningMomentsState } from '../model/running-moments.js';
import type { LayerState } from '../model/trunk-heads-network.js';

export interface ExportOptions {
  readonly pipeline?: string;
  readonly out: string;
  readonly fromKafka?: boolean;
}

/** Adds `tangent export` to the program. */
export function addExportCommand(program: Command): void {
  program
    .command('export')
    .description('write the model as TensorFlow.js LayersModels, one per task, loadable with tf.loadLayersModel')
    .option('-p, --pipeline <file>', 'pipeline YAML of the consumer whose model is exported (default: built-in defaults)')
    .requiredOption('-o, --out <dir>', 'directory to write: <dir>/index.json and <dir>/<task>/model.json + weights.bin')
    .option('--from-kafka', "export the state the consumer group keeps in Kafka (its state and trunk topics) instead of the newest local checkpoint: works while the consumers run, on any machine")
    .addHelpText('after', '\nEach model takes the raw features x ([n, inputDim]) and returns y ([n, 1]) in the task\'s units. See docs/serving.md.')
    .action(async (options: ExportOptions) => {
      const config = loadPipelineConfig(options.pipeline);
      const index = options.fromKafka ? await exportFromKafka(config, options.out, createLogger()) : await exportModels(config, options.out);
      process.stderr.write(`tangent export: ${index.tasks.length} task models from ${index.exportedFrom} written to ${options.out}\n`);
    });
}

interface ExportedTask {
  readonly task: string;
  readonly head: readonly LayerState[];
  readonly targetMoments: RunningMomentsState;
}

interface ExportContents {
  readonly spec: ArchitectureSpec;
  readonly trunk: readonly LayerState[];
  readonly featureMoments: RunningMomentsState;
  /** Where the scale stage clips each feature; undefined: no clipping layers. */
  readonly featureBand: FeatureBounds | undefined;
  readonly tasks: readonly ExportedTask[];
  readonly modelVersion: number | null;
  readonly exportedFrom: string;
}

/**
 * Trunk records of older versions carry the feature moments but not the scale stage's robust band: an
 * export from them clips to mean ± scaling.clipSigmas sd of the moments (which only take unclipped values).
 */
function momentsBand(state: RunningMomentsState, config: PipelineConfig): FeatureBounds | undefined {
  const { clipSigmas, warmup } = config.scaling;
  if (clipSigmas <= 0 || state.count < Math.max(warmup, 2)) return undefined;
  const moments = RunningMoments.fromJSON(state);
  const half = (i: number): number => clipSigmas * moments.standardDeviation(i);
  return { low: Array.from(moments.mean, (m, i) => m - half(i)), high: Array.from(moments.mean, (m, i) => m + half(i)) };
}

async function writeExport(contents: ExportContents, out: string): Promise<ExportIndex> {
  mkdirSync(out, { recursive: true });
  const { spec } = contents;
  const tasks: ExportIndex['tasks'][number][] = [];
  for (const { task, head, targetMoments } of contents.tasks) {
    const model = taskLayersModel({ spec, trunk: contents.trunk, head, featureMoments: contents.featureMoments, targetMoments, featureBand: contents.featureBand });
    const path = taskDirectory(task);
    await saveLayersModel(model, join(out, path), { task, modelVersion: contents.modelVersion, labeledRecords: targetMoments.count, inputDim: spec.inputDim });
    model.dispose();
    tasks.push({ task, path });
  }
  const index: ExportIndex = { format: 'tangent-export', version: 1, modelVersion: contents.modelVersion, inputDim: spec.inputDim, tasks, exportedFrom: contents.exportedFrom };
  writeFileSync(join(out, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
  return index;
}

/** Exports every task of the newest intact checkpoint of `config`'s consumer into `out`. */
export async function exportModels(config: PipelineConfig, out: string): Promise<ExportIndex> {
  // The pure-JS backend is enough to build and serialise Dense layers, and always loads.
  await selectBackend('cpu');
  const spec = specOf(config);
  const dir = checkpointDirectoryOf(config);
  const store = new CheckpointStore<LearningState>(dir, config.checkpoint.keep);
  const restored = store.loadLatest(validateLearningState(spec));
  if (!restored) throw new ModelError(`no checkpoint in ${resolve(dir)}: run the consumer with this pipeline first, or export with --from-kafka`);
  const { state } = restored;
  const tasks = state.network.network.heads.map(({ task, layers }) => {
    const targetMoments = state.network.targetMoments[task];
    if (!targetMoments) throw new ModelError(`checkpoint ${restored.file} has a head for "${task}" but no target moments`);
    return { task, head: layers, targetMoments };
  });
  return writeExport({ spec, trunk: state.network.network.trunk, featureMoments: state.featureMoments, featureBand: state.featureBand, tasks, modelVersion: state.position.batches, exportedFrom: restored.file }, out);
}

/**
 * Exports the model the consumer group keeps in Kafka: every task's head and
 * target moments from the state changelog (as of each owner's last
 * checkpoint), the trunk as the mean of the members' newest trunk
 * publications with the feature moments of the member that saw the most
 * records (what a joining member starts from).
 */
export async function exportFromKafka(config: PipelineConfig, out: string, logger: Logger): Promise<ExportIndex> {
  if (!config.state.changelog || config.state.trunkSyncBatches === 0) {
    throw new ModelError('--from-kafka needs the state in Kafka: state.changelog true and state.trunkSyncBatches above 0 in the pipeline');
  }
  await selectBackend('cpu');
  const spec = specOf(config);
  const stateTopic = stateTopicOf(config);
  const trunkTopic = trunkTopicOf(config);
  const kafka = createKafka(config.kafka, logger);
  const admin = kafka.admin();
  await admin.connect();
  const view = new CompactedTopicView(kafka, admin, [stateTopic, trunkTopic], config.kafka.groupId, logger);
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [stateTopic, trunkTopic].filter((t) => !existing.has(t));
    if (missing.length > 0) throw new ModelError(`no state in Kafka for group ${config.kafka.groupId}: topic ${missing.join(' and ')} does not exist (has the consumer run with this pipeline?)`);
    await view.start();
    await view.caughtUp();
    const skip = (topic: string) => (key: string, reason: string) => logger.warn({ topic, key, reason }, 'skipping an unreadable record');
    const merged = newestMergedTrunk(readTrunkRecords(view, trunkTopic, spec, skip(trunkTopic)), config.state.trunkMaxAgeSeconds * 1000);
    if (!merged) throw new ModelError(`no trunk of this model in ${trunkTopic}: the consumers publish one every state.trunkSyncBatches batches`);
    const tasks = readTaskStates(view, stateTopic, spec, skip(stateTopic)).flatMap((state) =>
      state.network.head && state.network.targetMoments ? [{ task: state.task, head: state.network.head, targetMoments: state.network.targetMoments }] : [],
    );
    if (tasks.length === 0) throw new ModelError(`no task state with a head in ${stateTopic}`);
    tasks.sort((a, b) => (a.task < b.task ? -1 : a.task > b.task ? 1 : 0));
    return await writeExport({ spec, trunk: merged.trunk, featureMoments: merged.featureMoments, featureBand: merged.featureBand ?? momentsBand(merged.featureMoments, config), tasks, modelVersion: null, exportedFrom: `kafka:${stateTopic},${trunkTopic}` }, out);
  } finally {
    await view.stop().catch(() => undefined);
    await admin.disconnect();
  }
}
