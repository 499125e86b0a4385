import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { Option, type Command } from 'commander';
import type { Admin } from 'kafkajs';
import { pino, type Logger } from 'pino';
import { prepareDirectory } from '../checkpoint/prepare-directory.js';
import { loadPipelineConfig } from '../config/load-pipeline-config.js';
import { checkpointDirectoryOf, servingAddressOf, type PipelineConfig } from '../config/pipeline-config.js';
import { errorMessage } from '../errors.js';
import { connectWithin } from '../kafka/kafka-client.js';
import { selectBackend, type BackendPreference } from '../model/backend.js';

interface NativeBinding {
  readonly TF_Version?: string;
}

/** Times one SGD step of a 32→256→256→1 ReLU MLP on a batch of 256 (the benchmarks' reference step). */
function measureStep(steps: number): number {
  const widths = [32, 256, 256, 1];
  const weights = widths.slice(1).map((w, i) => tf.variable(tf.randomNormal([widths[i]!, w], 0, Math.sqrt(2 / widths[i]!), 'float32', i)));
  const input = tf.randomNormal([256, 32], 0, 1, 'float32', 7);
  const target = tf.randomNormal([256, 1], 0, 1, 'float32', 8);
  const step = (): void =>
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        let h: tf.Tensor2D = input as tf.Tensor2D;
        weights.forEach((w, i) => {
          h = tf.matMul(h, w);
          if (i < weights.length - 1) h = tf.relu(h);
        });
        return tf.losses.meanSquaredError(target, h) as tf.Scalar;
      }, weights);
      for (const w of weights) w.assign(tf.sub(w, tf.mul(grads[w.name]!, 0.01)));
      weights[0]!.dataSync();
    });
  for (let i = 0; i < 3; i++) step();
  const started = performance.now();
  for (let i = 0; i < steps; i++) step();
  const msPerStep = (performance.now() - started) / steps;
  weights.forEach((w) => w.dispose());
  input.dispose();
  target.dispose();
  return msPerStep;
}

/** One line of the checklist: what was checked, what was found, and what to do when it failed. */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly hint?: string;
}

export interface DoctorOptions {
  readonly pipeline?: string;
  readonly backend?: BackendPreference;
  readonly json?: boolean;
}

/** Adds `tangent doctor` to the program. */
export function addDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('check a deployment: config, brokers (with SASL/TLS), topic, group lag, metrics and predict ports, checkpoints, backend')
    .option('-p, --pipeline <file>', 'pipeline YAML to check (default: built-in defaults)')
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend to try (default: the pipeline\'s model.backend)').choices(['auto', 'tensorflow', 'wasm', 'cpu']))
    .option('--json', 'print the checks as JSON')
    .addHelpText('after', '\nExit code 0 when every check passes, 1 when one fails, 2 when the config itself is invalid.')
    .action(async (options: DoctorOptions) => {
      process.exitCode = await doctorCommand(options);
    });
}

function failure(error: unknown): string {
  return errorMessage(error).split('\n').join('; ');
}

async function kafkaChecks(config: PipelineConfig, logger: Logger): Promise<Check[]> {
  const { brokers, sasl, ssl, topic, groupId } = config.kafka;
  const security = [sasl ? `SASL ${sasl.mechanism} as ${sasl.username}` : undefined, ssl?.enabled ? 'TLS' : undefined].filter(Boolean).join(', ') || 'plaintext';
  const started = performance.now();
  let admin: Admin;
  try {
    admin = await connectWithin(config.kafka, logger, Math.min(config.kafka.connectTimeoutMs, 10_000));
  } catch (error) {
    return [
      {
        name: 'brokers',
        ok: false,
        detail: `${brokers.join(', ')} (${security}): ${failure(error)}`,
        hint: 'check kafka.brokers (or KAFKA_BROKERS), the network path, and kafka.ssl / kafka.sasl against the cluster',
      },
    ];
  }
  const checks: Check[] = [{ name: 'brokers', ok: true, detail: `${brokers.join(', ')} reachable (${security}) in ${Math.round(performance.now() - started)} ms` }];
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      checks.push({
        name: 'input topic',
        ok: config.kafka.createTopics,
        detail: `${topic} does not exist${config.kafka.createTopics ? ' (kafka.createTopics: tangent creates it at start)' : ''}`,
        ...(config.kafka.createTopics ? {} : { hint: 'create it (kafka-topics.sh --create), fix a typo in kafka.topic, or set kafka.createTopics: true' }),
      });
      return checks;
    }
    const ends = await admin.fetchTopicOffsets(topic);
    checks.push({ name: 'input topic', ok: true, detail: `${topic}: ${ends.length} partitions, ${ends.reduce((n, p) => n + Number(BigInt(p.high) - BigInt(p.low)), 0).toLocaleString('en-US')} records` });
    const [group] = (await admin.describeGroups([groupId])).groups;
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const position = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    let lag = 0n;
    let withCommit = 0;
    for (const end of ends) {
      const at = position.get(end.partition) ?? -1n;
      if (at >= 0n) withCommit += 1;
      const from = at >= 0n ? at : config.kafka.fromBeginning ? BigInt(end.low) : BigInt(end.high);
      lag += BigInt(end.high) - from;
    }
    // kafkajs reports a group that never committed as Dead.
    const state = group?.state === 'Dead' && withCommit === 0 ? 'not created yet' : (group?.state ?? 'Unknown');
    checks.push({
      name: 'consumer group',
      ok: state !== 'Dead',
      detail: `${groupId}: ${state}, ${group?.members.length ?? 0} members, lag ${lag.toLocaleString('en-US')} (committed offsets on ${withCommit}/${ends.length} partitions)`,
      ...(state === 'Empty' && lag > 0n ? { hint: 'no member is consuming: start tangent run' } : {}),
    });
  } catch (error) {
    checks.push({ name: 'input topic', ok: false, detail: failure(error), hint: 'the principal may lack Describe/Read on the topic or group (ACLs)' });
  } finally {
    await admin.disconnect();
  }
  return checks;
}

async function portCheck(name: string, host: string, port: number, field: string): Promise<Check> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    await new Promise((resolve) => server.close(resolve));
    return { name, ok: true, detail: `${host}:${port} free` };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      name,
      ok: false,
      detail: `${host}:${port}: ${code === 'EADDRINUSE' ? 'in use by another process' : failure(error)}`,
      hint: `another tangent may be running here; pick ${field}`,
    };
  }
}

function checkpointCheck(config: PipelineConfig): Check {
  const dir = checkpointDirectoryOf(config);
  try {
    prepareDirectory(dir, 'checkpoint.dir');
    return { name: 'checkpoint dir', ok: true, detail: `${dir} writable` };
  } catch (error) {
    return { name: 'checkpoint dir', ok: false, detail: failure(error), hint: 'give checkpoint.dir a writable directory (a volume in a container)' };
  }
}

async function backendCheck(preference: BackendPreference): Promise<Check> {
  try {
    const choice = await selectBackend(preference);
    const binding = (tf.backend() as unknown as { binding?: NativeBinding }).binding;
    const msPerStep = measureStep(20);
    const threads = choice.name === 'tensorflow' ? availableParallelism() : 1;
    const version = binding?.TF_Version ? `, TensorFlow ${binding.TF_Version}` : '';
    return {
      name: 'backend',
      ok: true,
      detail:
        `${choice.name} (${choice.source}${version}, ${threads} thread${threads === 1 ? '' : 's'}): reference step ${msPerStep.toFixed(2)} ms ` +
        `(32→256→256→1, batch 256: ${Math.round((256 * 1000) / msPerStep).toLocaleString('en-US')} records/s)`,
      ...(choice.name === 'tensorflow' || preference !== 'auto' ? {} : { hint: `the native backend did not load (${choice.skipped.join('; ')}): see infra/tfjs` }),
    };
  } catch (error) {
    return { name: 'backend', ok: false, detail: failure(error), hint: 'see infra/tfjs for installing the native backend' };
  }
}

function print(checks: readonly Check[]): void {
  const width = Math.max(...checks.map((c) => c.name.length));
  for (const check of checks) {
    process.stdout.write(`${check.ok ? '✓' : '✗'} ${check.name.padEnd(width)}  ${check.detail}\n`);
    if (check.hint) process.stdout.write(`  ${' '.repeat(width)}  → ${check.hint}\n`);
  }
}

/** `tangent doctor`: the checklist; exit code 0 when all pass, 1 when one fails, 2 for an invalid config. */
async function doctorCommand(options: DoctorOptions, logger: Logger = pino({ level: 'silent' })): Promise<number> {
  let config: PipelineConfig;
  const source = options.pipeline ?? 'built-in defaults';
  try {
    config = loadPipelineConfig(options.pipeline);
  } catch (error) {
    const checks: Check[] = [{ name: 'config', ok: false, detail: `${source}: ${failure(error)}`, hint: "fix the fields named; 'tangent config schema' gives editors the schema" }];
    if (options.json) process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
    else print(checks);
    return 2;
  }
  const checks: Check[] = [
    { name: 'config', ok: true, detail: `${source} valid (topic ${config.kafka.topic}, group ${config.kafka.groupId})` },
    ...(await kafkaChecks(config, logger)),
    await portCheck('metrics port', config.metrics.host, config.metrics.port, 'metrics.port (or TANGENT_METRICS_PORT)'),
    await portCheck('predict port', servingAddressOf(config).host, servingAddressOf(config).port, 'serving.port (or TANGENT_SERVING_PORT)'),
    checkpointCheck(config),
    await backendCheck(options.backend ?? config.model.backend),
  ];
  if (options.json) process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
  else print(checks);
  return checks.every((c) => c.ok) ? 0 : 1;
}
