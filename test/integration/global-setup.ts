import type { TestProject } from 'vitest/node';
import { chooseBroker, stopLocalBroker } from './broker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
  }
}

/** One broker for every integration test file; stopped only if started here. */
export default function setup(project: TestProject): () => void {
  const choice = chooseBroker();
  console.log(`[integration] Kafka: ${choice.kind === 'env' ? 'KAFKA_BROKERS' : 'local broker from infra/kafka'} at ${choice.brokers}`);
  project.provide('kafkaBrokers', choice.brokers);
  return () => {
    if (choice.startedHere) stopLocalBroker();
  };
}
