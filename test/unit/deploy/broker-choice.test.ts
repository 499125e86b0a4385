import { describe, expect, it, vi } from 'vitest';
import {
  chooseBroker,
  defaultKafkaImage,
  describeChoice,
  probeContainerRuntime,
  type BrokerDeps,
  type RuntimeProbe,
} from '../../integration/broker.js';

/**
 * The integration harness's broker choice (test/integration/broker.ts):
 * KAFKA_BROKERS, else the local broker from infra/kafka; a testcontainers Kafka
 * only when TANGENT_KAFKA_CONTAINER asks for one. Effects are faked here; the
 * real paths run in the integration and containers projects.
 */

const noRuntime: RuntimeProbe = {
  available: false,
  reason: 'no container runtime answers (testcontainers: "Could not find a working container runtime strategy")',
};

function fakes(runtime: RuntimeProbe, overrides: Partial<BrokerDeps> = {}) {
  const deps = {
    probeContainerRuntime: vi.fn(async () => runtime),
    startKafkaContainer: vi.fn(async (image: string) => ({ brokers: 'localhost:32771', description: `${image} container abc`, stop: vi.fn(async () => {}) })),
    startLocalBroker: vi.fn(() => ({ brokers: '127.0.0.1:19392', startedHere: true })),
    stopLocalBroker: vi.fn(),
    ...overrides,
  };
  return deps;
}

describe('chooseBroker', () => {
  it('takes KAFKA_BROKERS when set, and starts nothing', async () => {
    const deps = fakes(noRuntime);
    const choice = await chooseBroker({ KAFKA_BROKERS: 'broker:9092' }, deps);
    expect(choice).toMatchObject({ kind: 'env', brokers: 'broker:9092', startedHere: false, reason: 'KAFKA_BROKERS is set' });
    expect(deps.probeContainerRuntime).not.toHaveBeenCalled();
    expect(deps.startLocalBroker).not.toHaveBeenCalled();
    expect(describeChoice(choice)).toBe('[integration] Kafka: KAFKA_BROKERS at broker:9092 (KAFKA_BROKERS is set)');
  });

  it('uses the local broker by default, without asking any container runtime', async () => {
    const deps = fakes({ available: true, description: '/var/run/docker.sock (server 28.2.2)' });
    const choice = await chooseBroker({}, deps);
    expect(choice).toMatchObject({ kind: 'local', brokers: '127.0.0.1:19392', startedHere: true });
    expect(choice.reason).toContain('a Kafka container only when TANGENT_KAFKA_CONTAINER=auto|required');
    expect(deps.probeContainerRuntime).not.toHaveBeenCalled();
    expect(deps.startKafkaContainer).not.toHaveBeenCalled();
  });

  it('falls back to the local broker when asked for a container but no runtime answers, and says why', async () => {
    const deps = fakes(noRuntime);
    const choice = await chooseBroker({ TANGENT_KAFKA_CONTAINER: 'auto' }, deps);
    expect(choice.kind).toBe('local');
    expect(choice.brokers).toBe('127.0.0.1:19392');
    expect(choice.startedHere).toBe(true);
    expect(choice.reason).toContain('Could not find a working container runtime strategy');
    expect(deps.startKafkaContainer).not.toHaveBeenCalled();
    expect(describeChoice(choice)).toMatch(/^\[integration\] Kafka: local broker from infra\/kafka at 127\.0\.0\.1:19392 \(no KAFKA_BROKERS; no container runtime answers/);
    await choice.stop();
    expect(deps.stopLocalBroker).toHaveBeenCalledTimes(1);
  });

  it('does not stop a local broker it did not start', async () => {
    const deps = fakes(noRuntime, { startLocalBroker: vi.fn(() => ({ brokers: '127.0.0.1:9092', startedHere: false })) });
    const choice = await chooseBroker({ TANGENT_KAFKA_CONTAINER: 'auto' }, deps);
    expect(choice.reason).toContain('already running');
    await choice.stop();
    expect(deps.stopLocalBroker).not.toHaveBeenCalled();
  });

  it('starts a Kafka container (cp-kafka, KRaft) when asked and a runtime answers, and stops it at teardown', async () => {
    const deps = fakes({ available: true, description: '/var/run/docker.sock (server 28.2.2)' });
    const choice = await chooseBroker({ TANGENT_KAFKA_CONTAINER: 'auto' }, deps);
    expect(choice).toMatchObject({ kind: 'testcontainers', brokers: 'localhost:32771', startedHere: true });
    expect(deps.startKafkaContainer).toHaveBeenCalledWith(defaultKafkaImage);
    expect(defaultKafkaImage).toMatch(/^confluentinc\/cp-kafka:[78]\./);
    expect(choice.reason).toContain('/var/run/docker.sock');
    expect(describeChoice(choice)).toContain('Kafka container (testcontainers) at localhost:32771');
    expect(deps.startLocalBroker).not.toHaveBeenCalled();
    await choice.stop();
  });

  it('honours TANGENT_KAFKA_IMAGE and TANGENT_KAFKA_CONTAINER=off', async () => {
    const deps = fakes({ available: true, description: 'docker' });
    await chooseBroker({ TANGENT_KAFKA_CONTAINER: 'auto', TANGENT_KAFKA_IMAGE: 'confluentinc/cp-kafka:7.9.0' }, deps);
    expect(deps.startKafkaContainer).toHaveBeenCalledWith('confluentinc/cp-kafka:7.9.0');
    const off = fakes({ available: true, description: 'docker' });
    const choice = await chooseBroker({ TANGENT_KAFKA_CONTAINER: 'off' }, off);
    expect(choice.kind).toBe('local');
    expect(off.probeContainerRuntime).not.toHaveBeenCalled();
    await expect(chooseBroker({ TANGENT_KAFKA_CONTAINER: 'maybe' }, off)).rejects.toThrow(/auto, off or required/);
  });

  it('falls back to the local broker if the container does not start, unless the container is required', async () => {
    const failing = { startKafkaContainer: vi.fn(async () => { throw new Error('pull access denied for confluentinc/cp-kafka\nmore'); }) };
    const deps = fakes({ available: true, description: 'docker' }, failing);
    const choice = await chooseBroker({ TANGENT_KAFKA_CONTAINER: 'auto' }, deps);
    expect(choice.kind).toBe('local');
    expect(choice.reason).toContain('did not start: pull access denied for confluentinc/cp-kafka');
    await expect(chooseBroker({ TANGENT_KAFKA_CONTAINER: 'required' }, fakes({ available: true, description: 'docker' }, failing))).rejects.toThrow(
      /TANGENT_KAFKA_CONTAINER=required/,
    );
    await expect(chooseBroker({ TANGENT_KAFKA_CONTAINER: 'required' }, fakes(noRuntime))).rejects.toThrow(/no container runtime answers/);
  });
});

describe('probeContainerRuntime', () => {
  it('never throws: it reports a runtime or the reason there is none', async () => {
    const probe = await probeContainerRuntime();
    if (probe.available) {
      expect(probe.description).not.toBe('');
    } else {
      expect(probe.reason).not.toBe('');
      console.log(`[deploy] container runtime: ${probe.reason}`);
    }
  }, 30_000);
});
