import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * How integration tests reach a real broker, first that applies:
 *  1. KAFKA_BROKERS when set;
 *  2. a Kafka container (@testcontainers/kafka, cp-kafka in KRaft mode), only
 *     when asked with TANGENT_KAFKA_CONTAINER=auto|required;
 *  3. the local broker from infra/kafka (Maven Central jars, no container): the
 *     default, fast and independent of any container runtime.
 * The container path has its own suite (test/containers, run by `npm test`),
 * which starts its broker with startKafkaContainer below.
 * Every choice says why it was made; the global setup prints it.
 */
export type BrokerKind = 'env' | 'testcontainers' | 'local';

export interface BrokerChoice {
  readonly brokers: string;
  readonly kind: BrokerKind;
  /** Started by this harness, so the teardown stops it. */
  readonly startedHere: boolean;
  /** Why this one, including why the earlier options were passed over. */
  readonly reason: string;
  /** Stops what was started here (container or local broker); a no-op otherwise. */
  stop(): Promise<void>;
}

export type RuntimeProbe = { readonly available: true; readonly description: string } | { readonly available: false; readonly reason: string };

export interface StartedContainerBroker {
  readonly brokers: string;
  readonly description: string;
  stop(): Promise<void>;
}

/** The effects chooseBroker needs, injectable so the choice itself is unit-tested. */
export interface BrokerDeps {
  probeContainerRuntime(): Promise<RuntimeProbe>;
  startKafkaContainer(image: string): Promise<StartedContainerBroker>;
  startLocalBroker(): { brokers: string; startedHere: boolean };
  stopLocalBroker(): void;
}

/**
 * Confluent Platform 8.1 = Apache Kafka 4.1, as infra/kafka; KRaft (KafkaContainer
 * speaks cp-kafka's configuration). TANGENT_KAFKA_IMAGE overrides it, e.g. with the
 * image infra/containers/images.sh builds where no registry is reachable.
 */
export const defaultKafkaImage = 'confluentinc/cp-kafka:8.1.0';

/** The Kafka image for container tests: TANGENT_KAFKA_IMAGE, else the stock cp-kafka. */
export function kafkaImage(env: NodeJS.ProcessEnv = process.env): string {
  return env.TANGENT_KAFKA_IMAGE || defaultKafkaImage;
}

/** Every container the tests start carries it, so a teardown finds what a failed test left. */
export const testContainerLabel = 'dev.tangent.test';
/** Clients connect to KafkaContainer's PLAINTEXT listener, published on a random host port. */
export const kafkaContainerClientPort = 9093;
const probeTimeoutMs = 15_000;

const kafkaScripts = fileURLToPath(new URL('../../infra/kafka/', import.meta.url));

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
}

/** Does a container runtime (Docker, Podman, ...) answer? Never throws. */
export async function probeContainerRuntime(): Promise<RuntimeProbe> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${probeTimeoutMs / 1000} s`)), probeTimeoutMs);
    });
    const client = await Promise.race([getContainerRuntimeClient(), timeout]);
    const { info } = client;
    return { available: true, description: `${info.containerRuntime.host} (server ${info.containerRuntime.serverVersion ?? '?'})` };
  } catch (error) {
    const message = firstLine(error);
    // testcontainers' words when no strategy (DOCKER_HOST, socket, rootless, ...) reaches an engine.
    const reason = /Could not find a working container runtime strategy/i.test(message)
      ? 'no container runtime answers (testcontainers: "Could not find a working container runtime strategy")'
      : `container runtime probe failed: ${message}`;
    return { available: false, reason };
  } finally {
    if (timer) clearTimeout(timer);
  }
}

export async function startKafkaContainer(image: string): Promise<StartedContainerBroker> {
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const { Wait } = await import('testcontainers');
  // Same shape as the local broker: 3 partitions for auto-created topics, no rebalance delay.
  // Ready when the broker says so: the default port wait execs probes inside the container,
  // which under Podman leave a conmon process behind for minutes each.
  const container = await new KafkaContainer(image)
    .withKraft()
    .withEnvironment({ KAFKA_NUM_PARTITIONS: '3' })
    .withLabels({ [testContainerLabel]: 'kafka' })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(300_000)
    .start();
  const brokers = `${container.getHost()}:${container.getMappedPort(kafkaContainerClientPort)}`;
  return {
    brokers,
    description: `${image} container ${container.getId().slice(0, 12)}`,
    stop: async () => {
      await container.stop();
    },
  };
}

export function startLocalBroker(): { brokers: string; startedHere: boolean } {
  const output = execFileSync('bash', [`${kafkaScripts}start.sh`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = output.split('\n').find((l) => l.startsWith('KAFKA_BROKERS='));
  if (!line) throw new Error(`infra/kafka/start.sh did not report KAFKA_BROKERS:\n${output}`);
  return { brokers: line.slice('KAFKA_BROKERS='.length).trim(), startedHere: !output.includes('already running') };
}

export function stopLocalBroker(): void {
  execFileSync('bash', [`${kafkaScripts}stop.sh`], { stdio: 'inherit' });
}

export const defaultBrokerDeps: BrokerDeps = { probeContainerRuntime, startKafkaContainer, startLocalBroker, stopLocalBroker };

/**
 * TANGENT_KAFKA_CONTAINER: `off` (default) never tries a container; `auto`
 * tries one when a runtime answers and falls back to the local broker if it
 * cannot start; `required` fails instead of falling back. TANGENT_KAFKA_IMAGE
 * overrides the image.
 */
export async function chooseBroker(env: NodeJS.ProcessEnv = process.env, deps: BrokerDeps = defaultBrokerDeps): Promise<BrokerChoice> {
  if (env.KAFKA_BROKERS) {
    return { brokers: env.KAFKA_BROKERS, kind: 'env', startedHere: false, reason: 'KAFKA_BROKERS is set', stop: async () => {} };
  }
  const mode = env.TANGENT_KAFKA_CONTAINER || 'off';
  if (!['auto', 'off', 'required'].includes(mode)) throw new Error(`TANGENT_KAFKA_CONTAINER must be auto, off or required, got "${mode}"`);
  let passedOver: string;
  if (mode === 'off') {
    passedOver = env.TANGENT_KAFKA_CONTAINER ? 'TANGENT_KAFKA_CONTAINER=off' : 'a Kafka container only when TANGENT_KAFKA_CONTAINER=auto|required';
  } else {
    const runtime = await deps.probeContainerRuntime();
    if (runtime.available) {
      const image = kafkaImage(env);
      try {
        const started = await deps.startKafkaContainer(image);
        return {
          brokers: started.brokers,
          kind: 'testcontainers',
          startedHere: true,
          reason: `no KAFKA_BROKERS; container runtime ${runtime.description} answers: ${started.description}`,
          stop: () => started.stop(),
        };
      } catch (error) {
        if (mode === 'required') throw new Error(`cannot start ${image} (TANGENT_KAFKA_CONTAINER=required): ${firstLine(error)}`);
        passedOver = `container runtime ${runtime.description} answers, but ${image} did not start: ${firstLine(error)}`;
      }
    } else {
      if (mode === 'required') throw new Error(`TANGENT_KAFKA_CONTAINER=required, but ${runtime.reason}`);
      passedOver = runtime.reason;
    }
  }
  const local = deps.startLocalBroker();
  return {
    brokers: local.brokers,
    kind: 'local',
    startedHere: local.startedHere,
    reason: `no KAFKA_BROKERS; ${passedOver}${local.startedHere ? '' : '; it was already running'}`,
    stop: async () => {
      if (local.startedHere) deps.stopLocalBroker();
    },
  };
}

const kindLabels: Record<BrokerKind, string> = {
  env: 'KAFKA_BROKERS',
  testcontainers: 'Kafka container (testcontainers)',
  local: 'local broker from infra/kafka',
};

/** The line the global setup prints. */
export function describeChoice(choice: BrokerChoice): string {
  return `[integration] Kafka: ${kindLabels[choice.kind]} at ${choice.brokers} (${choice.reason})`;
}
