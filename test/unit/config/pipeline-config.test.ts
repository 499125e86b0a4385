import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipelineConfig, parsePipelineConfig } from '../../../src/config/load-pipeline-config.js';
import { deadLetterTopicOf, servingAddressOf } from '../../../src/config/pipeline-config.js';
import { ConfigError } from '../../../src/errors.js';

function fieldOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).field;
  }
  throw new Error('expected a ConfigError');
}

describe('pipeline config', () => {
  it('gives every field a default', () => {
    const config = parsePipelineConfig({});
    expect(config.kafka.topic).toBe('tangent.records');
    expect(deadLetterTopicOf(config.kafka)).toBe('tangent.records.dlq');
    expect(config.metrics.port).toBe(9464);
    expect(config.model.hidden).toEqual([64, 64]);
  });

  it('applies environment overrides over the file', () => {
    const config = parsePipelineConfig(
      { kafka: { topic: 'from-file' } },
      { KAFKA_BROKERS: 'a:1, b:2', TANGENT_TOPIC: 'from-env', TANGENT_GROUP_ID: 'g', TANGENT_METRICS_PORT: '9999', TANGENT_BACKEND: 'cpu', TANGENT_INSTANCE_ID: 'tangent-7f9c' },
    );
    expect(config.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(config.kafka.topic).toBe('from-env');
    expect(config.kafka.groupId).toBe('g');
    expect(config.metrics.port).toBe(9999);
    expect(config.model.backend).toBe('cpu');
    expect(config.checkpoint.instanceId).toBe('tangent-7f9c');
  });

  it('serves POST /predict on the metrics host and port + 1 unless told otherwise (any free port with metrics.port 0)', () => {
    expect(servingAddressOf(parsePipelineConfig({}))).toEqual({ host: '127.0.0.1', port: 9465 });
    expect(servingAddressOf(parsePipelineConfig({ metrics: { port: 0, host: '0.0.0.0' } }))).toEqual({ host: '0.0.0.0', port: 0 });
    expect(servingAddressOf(parsePipelineConfig({ serving: { port: 8080 } }, { TANGENT_SERVING_HOST: '10.0.0.5' }))).toEqual({ host: '10.0.0.5', port: 8080 });
    expect(servingAddressOf(parsePipelineConfig({}, { TANGENT_SERVING_PORT: '7000' })).port).toBe(7000);
    expect(() => parsePipelineConfig({}, { TANGENT_SERVING_PORT: 'high' })).toThrow(/serving\.port/);
  });

  it.each([
    [{ model: { hidden: [64, 0] } }, 'model.hidden.1'],
    [{ model: { activation: 'tanh' } }, 'model.activation'],
    [{ batch: { size: -3 } }, 'batch.size'],
    [{ kafka: { lowWaterMark: 10, highWaterMark: 5 } }, 'kafka.lowWaterMark'],
    [{ kafka: { brokers: [] } }, 'kafka.brokers'],
    [{ kafka: { bogus: 1 } }, 'kafka.bogus'],
    [{ metrics: { port: 70000 } }, 'metrics.port'],
    [{ fineTune: { trunkLearningRateRatio: 2 } }, 'fineTune.trunkLearningRateRatio'],
    [{ checkpoint: { instanceId: '../escape' } }, 'checkpoint.instanceId'],
    [[1, 2], '(root)'],
  ])('names the bad field of %j', (document, field) => {
    expect(fieldOf(() => parsePipelineConfig(document))).toBe(field);
  });

  it('reports every bad field at once, detector parameters included', () => {
    let error: unknown;
    try {
      parsePipelineConfig(
        {
          kafka: { topik: 'typo' },
          model: { activation: 'sigmoid' },
          batch: { size: -3 },
          drift: { detectors: [{ kind: 'adwin', dleta: 0.002 }, { kind: 'page-hinkley', threshold: -1 }] },
        },
        { TANGENT_METRICS_PORT: 'eighty' },
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues;
    expect(issues.map((i) => i.field).sort()).toEqual(
      ['batch.size', 'drift.detectors.0.dleta', 'drift.detectors.1.threshold', 'kafka.topik', 'metrics.port', 'model.activation'].sort(),
    );
    expect(issues.find((i) => i.field === 'drift.detectors.0.dleta')!.message).toBe('unknown field (did you mean "delta"?)');
    expect((error as Error).message.split('\n')).toHaveLength(6);
  });

  it('keeps detector parameters strict per kind', () => {
    expect(fieldOf(() => parsePipelineConfig({ drift: { detectors: [{ kind: 'kswin', delta: 0.1 }] } }))).toBe('drift.detectors.0.delta');
    expect(fieldOf(() => parsePipelineConfig({ drift: { detectors: [{ kind: 'adwin', delta: 'small' }] } }))).toBe('drift.detectors.0.delta');
    const config = parsePipelineConfig({ drift: { detectors: [{ kind: 'page-hinkley', threshold: 25, mode: 'up' }, { kind: 'kswin', alpha: 0.001 }] } });
    expect(config.drift.detectors).toEqual([{ kind: 'page-hinkley', threshold: 25, mode: 'up' }, { kind: 'kswin', alpha: 0.001 }]);
  });

  it('names a bad environment override by its field', () => {
    expect(fieldOf(() => parsePipelineConfig({}, { TANGENT_METRICS_PORT: 'eighty' }))).toBe('metrics.port');
  });

  it('reads YAML files and reports unreadable or invalid ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tangent-config-'));
    writeFileSync(join(dir, 'ok.yaml'), 'batch:\n  size: 32\n');
    writeFileSync(join(dir, 'bad.yaml'), 'batch: [unclosed\n');
    expect(loadPipelineConfig(join(dir, 'ok.yaml'), {}).batch.size).toBe(32);
    expect(fieldOf(() => loadPipelineConfig(join(dir, 'bad.yaml'), {}))).toBe('(file)');
    expect(fieldOf(() => loadPipelineConfig(join(dir, 'missing.yaml'), {}))).toBe('(file)');
  });

  it('accepts the shipped example pipelines', () => {
    expect(() => loadPipelineConfig('pipelines/default.yaml', {})).not.toThrow();
  });
});
