import type { TestProject } from 'vitest/node';
import { kafkaImage, startKafkaContainer, testContainerLabel, type StartedContainerBroker } from '../integration/broker.js';
import { buildTangentImage, tangentImage, type ImageBuild } from './images.js';
import { prepareContainerRuntime, type ContainerRuntime } from './runtime.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    containerRuntime: ContainerRuntime;
    tangentImageBuild: ImageBuild;
  }
}

/** Removes every container a test started (labelled), running or not: without Ryuk nothing else would. */
export async function removeTestContainers(): Promise<number> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  const client = await getContainerRuntimeClient();
  const left = await client.container.dockerode.listContainers({ all: true, filters: { label: [testContainerLabel] } });
  await Promise.all(left.map((c) => client.container.dockerode.getContainer(c.Id).remove({ force: true, v: true })));
  return left.length;
}

/**
 * The container suite's one Kafka broker: a container started through
 * testcontainers (@testcontainers/kafka) on the runtime infra/containers/setup.sh
 * set up, or on Docker; and tangent's image, built once for the image and compose
 * tests (a failed build fails those tests, with its output). Without a runtime the
 * suite's tests skip and say why.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runtime = await prepareContainerRuntime();
  project.provide('containerRuntime', runtime);
  if (!runtime.available) {
    console.log(`[containers] container tests skipped: ${runtime.reason}`);
    project.provide('kafkaBrokers', '');
    project.provide('tangentImageBuild', { ok: false, seconds: 0, tail: runtime.reason });
    return async () => {};
  }
  const build = buildTangentImage();
  console.log(`[containers] ${tangentImage}: ${build.ok ? 'built' : 'build FAILED'} in ${build.seconds.toFixed(0)} s\n${build.tail.split('\n').slice(-3).join('\n')}`);
  project.provide('tangentImageBuild', build);
  const started = Date.now();
  let broker: StartedContainerBroker | undefined;
  try {
    broker = await startKafkaContainer(kafkaImage());
  } catch (error) {
    await removeTestContainers();
    throw error;
  }
  console.log(`[containers] runtime ${runtime.description}; Kafka: ${broker.description} at ${broker.brokers}, ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  project.provide('kafkaBrokers', broker.brokers);
  return async () => {
    await broker.stop().catch(() => {});
    const removed = await removeTestContainers();
    if (removed > 0) console.log(`[containers] removed ${removed} container(s) left behind by the tests`);
  };
}
