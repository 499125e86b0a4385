import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureTopics } from '../../src/kafka/topics.js';
import type { Check } from '../../src/commands/doctor.js';
import { brokers, testKafka, uniqueName } from './kafka-helpers.js';

function doctor(pipeline: Record<string, unknown>): { status: number | null; checks: Check[]; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tangent-doctor-'));
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, JSON.stringify({ checkpoint: { dir: join(dir, 'checkpoints') }, metrics: { port: 0 }, model: { backend: 'cpu' }, ...pipeline }));
  const env = { ...process.env };
  delete env.KAFKA_BROKERS;
  delete env.TANGENT_METRICS_PORT;
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'doctor', '--pipeline', file, '--json'], { encoding: 'utf8', timeout: 120_000, env });
  return { status: result.status, checks: JSON.parse(result.stdout) as Check[], stderr: result.stderr };
}

describe('tangent doctor against the real broker', () => {
  it('passes every check on a healthy setup, with the topic\'s partitions and the group\'s lag', async () => {
    const topic = uniqueName('doctor');
    await ensureTopics(testKafka(), [topic], 2);
    const { status, checks } = doctor({ kafka: { brokers: brokers(), topic, groupId: `${topic}-group` } });
    console.log(`[doctor] ${checks.map((c) => `${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`).join('\n[doctor] ')}`);
    expect(checks.map((c) => c.name)).toEqual(['config', 'brokers', 'input topic', 'consumer group', 'metrics port', 'predict port', 'checkpoint dir', 'backend']);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(status).toBe(0);
    expect(checks.find((c) => c.name === 'input topic')!.detail).toContain(`${topic}: 2 partitions`);
    expect(checks.find((c) => c.name === 'consumer group')!.detail).toContain('lag 0');
  });

  it('fails the topic check with a hint for a missing topic, and the broker check naming the brokers', () => {
    const missing = doctor({ kafka: { brokers: brokers(), topic: uniqueName('typo') } });
    expect(missing.status).toBe(1);
    const topicCheck = missing.checks.find((c) => c.name === 'input topic')!;
    expect(topicCheck.ok).toBe(false);
    expect(topicCheck.hint).toContain('kafka.createTopics: true');

    const down = doctor({ kafka: { brokers: ['127.0.0.1:1'], connectTimeoutMs: 1500 } });
    expect(down.status).toBe(1);
    const brokerCheck = down.checks.find((c) => c.name === 'brokers')!;
    expect(brokerCheck).toMatchObject({ ok: false });
    expect(brokerCheck.detail).toContain('127.0.0.1:1 (plaintext): cannot reach the Kafka brokers');
    expect(down.checks.map((c) => c.name)).toEqual(['config', 'brokers', 'metrics port', 'predict port', 'checkpoint dir', 'backend']);
  });
});
