import type { TestProject } from 'vitest/node';
import { chooseBroker, describeChoice } from './broker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
  }
}

/**
 * One broker for every integration test file: KAFKA_BROKERS, else a Kafka
 * container when a container runtime answers, else the local broker from
 * infra/kafka (see broker.ts). Stopped only if started here.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const choice = await chooseBroker();
  console.log(describeChoice(choice));
  project.provide('kafkaBrokers', choice.brokers);
  return async () => {
    if (choice.startedHere) await choice.stop();
  };
}
