import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pretrainCommand } from '../../src/commands/pretrain.js';
import { loadPipelineConfig } from '../../src/config/load-pipeline-config.js';
import { defaultFriedmanOptions } from '../../src/demo/friedman.js';
import { produceRecords } from '../../src/demo/produce.js';
import { syntheticRecords } from '../../src/demo/record-sources.js';
import { ensureTopics } from '../../src/kafka/topics.js';
import { selectBackend } from '../../src/model/backend.js';
import { OnlineRegressor } from '../../src/model/online-regressor.js';
import { readTrunkArtifact, loadTrunkArtifact } from '../../src/model/trunk-artifact.js';
import { brokers, quietLogger, testKafka, uniqueName } from './kafka-helpers.js';
import { PrequentialBatcher, consumeExamples } from './prequential-stream.js';
import { specOf } from '../../src/learning-session.js';

/**
 * Transfer from a pretrained trunk, through the real broker end to end:
 *
 * 1. the source task — Friedman f₀, no drift, 20,000 records (1% malformed) —
 *    is produced to a topic and `tangent pretrain --input topic:NAME` reads it
 *    back and writes the trunk artifact;
 * 2. the target task — a related task: the same f₀ under a fixed random scale
 *    (in [0.7, 1.3]) and offset (in [−3, 3]), DESIGN §9's multi-task variant,
 *    on fresh inputs — is produced to another topic;
 * 3. a kafkajs consumer reads the target records and feeds them, decoded and
 *    standardised as the pipeline does, in the same order into two online
 *    regressors that differ only in the trunk: the pretrained one (loaded
 *    from the artifact with loadTrunkArtifact) and the random trunk it was
 *    pretrained from (same seed).
 *
 * Pipeline settings: trunk [64, 64] relu, η = 0.5, batches of 32, the default
 * fine-tuning (every 5 batches, 10 steps at ρ = 0.1). Over source/target seeds
 * 101–108/201–208 the ratio pretrained/random is 0.48–0.55 (docs/model.md).
 */
const sourceRecords = 20_000;
const targetRecords = 2_000;

describe('transfer from a pretrained trunk (real broker)', () => {
  it('a trunk pretrained on f₀ makes the prequential MAE over the first 2,000 records of a related task ≥ 20% lower than a random trunk', async () => {
    await selectBackend('auto');
    const kafka = testKafka();
    const sourceTopic = uniqueName('transfer-source');
    const targetTopic = uniqueName('transfer-target');
    await ensureTopics(kafka, [sourceTopic, targetTopic], 1);

    const dir = mkdtempSync(join(tmpdir(), 'tangent-transfer-'));
    const pipelineFile = join(dir, 'pipeline.yaml');
    writeFileSync(
      pipelineFile,
      JSON.stringify({ kafka: { brokers: brokers(), topic: targetTopic }, model: { learningRate: 0.5 }, batch: { size: 32 } }),
    );
    const config = loadPipelineConfig(pipelineFile, {});
    const spec = specOf(config);

    const source = [
      ...syntheticRecords(sourceRecords, {
        friedman: { ...defaultFriedmanOptions, seed: 101, drift: 'none', tasks: ['source'] },
        malformedFraction: 0.01,
        maxRecordBytes: config.kafka.maxRecordBytes,
      }),
    ];
    await produceRecords(kafka, source, { topic: sourceTopic, rate: 0 });
    const trunkDir = join(dir, 'trunk');
    const started = performance.now();
    const code = await pretrainCommand({ input: `topic:${sourceTopic}`, out: trunkDir, pipeline: pipelineFile, epochs: 5 }, quietLogger);
    const pretrainSeconds = (performance.now() - started) / 1000;
    expect(code).toBe(0);
    const artifact = readTrunkArtifact(trunkDir);
    // Every good record of the topic, and only those, was learned from.
    expect(artifact.metadata.examples).toBe(source.filter((r) => r.expectedReason === undefined).length);
    const trunk = loadTrunkArtifact(trunkDir, spec);

    const target = [
      ...syntheticRecords(targetRecords, {
        friedman: { ...defaultFriedmanOptions, seed: 201, drift: 'none', tasks: ['source', 'target'], taskWeights: [0, 1] },
        malformedFraction: 0,
        maxRecordBytes: config.kafka.maxRecordBytes,
      }),
    ];
    expect(new Set(target.map((r) => r.key))).toEqual(new Set(['target']));
    await produceRecords(kafka, target, { topic: targetTopic, rate: 0 });

    const settings = {
      spec,
      learningRate: config.model.learningRate,
      seed: config.model.seed,
      fineTune: { ...config.fineTune, batchSize: config.batch.size },
    };
    const pretrainedModel = new OnlineRegressor(settings);
    pretrainedModel.network.loadTrunk(trunk);
    const randomModel = new OnlineRegressor(settings);
    const pretrained = new PrequentialBatcher(config.batch.size, pretrainedModel);
    const random = new PrequentialBatcher(config.batch.size, randomModel);
    const read = await consumeExamples(targetTopic, targetRecords, spec.inputDim, (example) => {
      pretrained.add(example);
      random.add(example);
    });
    pretrained.flush();
    random.flush();
    pretrainedModel.dispose();
    randomModel.dispose();

    expect(read).toEqual({ good: targetRecords, bad: 0 });
    expect(pretrained.errors).toHaveLength(targetRecords);
    const [withPretrained, withRandom] = [pretrained.mae(), random.mae()];
    console.log(
      `[transfer] pretraining on ${artifact.metadata.examples} f₀ records from Kafka, 5 epochs: ${pretrainSeconds.toFixed(1)} s, ` +
        `training MAE ${Number(artifact.metadata.trainingMae).toFixed(3)}. Prequential MAE over the first ${targetRecords} target records: ` +
        `pretrained trunk ${withPretrained.toFixed(3)}, random trunk ${withRandom.toFixed(3)} (ratio ${(withPretrained / withRandom).toFixed(3)})`,
    );
    expect(withPretrained).toBeLessThanOrEqual(0.8 * withRandom);
  });
});
