import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * How integration tests reach a real broker: KAFKA_BROKERS when set, else
 * the local broker from infra/kafka (started here, stopped at teardown).
 */
export interface BrokerChoice {
  readonly brokers: string;
  readonly kind: 'env' | 'local';
  readonly startedHere: boolean;
}

const kafkaScripts = fileURLToPath(new URL('../../infra/kafka/', import.meta.url));

export function chooseBroker(env: NodeJS.ProcessEnv = process.env): BrokerChoice {
  if (env.KAFKA_BROKERS) return { brokers: env.KAFKA_BROKERS, kind: 'env', startedHere: false };
  const output = execFileSync('bash', [`${kafkaScripts}start.sh`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = output.split('\n').find((l) => l.startsWith('KAFKA_BROKERS='));
  if (!line) throw new Error(`infra/kafka/start.sh did not report KAFKA_BROKERS:\n${output}`);
  return { brokers: line.slice('KAFKA_BROKERS='.length).trim(), kind: 'local', startedHere: !output.includes('already running') };
}

export function stopLocalBroker(): void {
  execFileSync('bash', [`${kafkaScripts}stop.sh`], { stdio: 'inherit' });
}
