#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadPipelineConfig } from './config/load-pipeline-config.js';
import { TangentError } from './errors.js';
import { createLogger } from './logger.js';
import { demoCommand } from './commands/demo.js';
import { doctorCommand } from './commands/doctor.js';
import { kernelCommand, kernelUsage } from './commands/kernel.js';
import { pretrainCommand, pretrainUsage } from './commands/pretrain.js';
import { produceCommand, produceUsage } from './commands/produce.js';
import { runCommand } from './commands/run.js';

const usage = `usage: tangent <command> [options]

commands:
  run --pipeline FILE     consume, learn online, serve /metrics (FILE optional: built-in defaults)
  demo [--pipeline FILE]  the built-in default: a drifting synthetic stream produced and learned live
  produce [options]       load generator; see 'tangent produce --help'
  pretrain [options]      pretrain a trunk on a file or topic:NAME, save it as a TensorFlow.js artifact; see 'tangent pretrain --help'
  kernel [options]        the analytic NTK/NNGP Gram matrix of points on stdin; see 'tangent kernel --help'
  doctor [BACKEND]        which TensorFlow.js backend loads, its versions, threads and a measured step time

environment: KAFKA_BROKERS, TANGENT_TOPIC, TANGENT_GROUP_ID, TANGENT_METRICS_PORT, TANGENT_METRICS_HOST,
             TANGENT_BACKEND, TANGENT_LOG_LEVEL`;

function pipelineFile(argv: string[]): string | undefined {
  const { values } = parseArgs({ args: argv, options: { pipeline: { type: 'string' } }, strict: true });
  return values.pipeline;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const logger = createLogger();
  if (command === undefined || command === '--help' || command === 'help') {
    process.stdout.write(`${usage}\n`);
    return command === undefined ? 2 : 0;
  }
  if (rest.includes('--help')) {
    process.stdout.write(`${command === 'produce' ? produceUsage : command === 'kernel' ? kernelUsage : command === 'pretrain' ? pretrainUsage : usage}\n`);
    return 0;
  }
  switch (command) {
    case 'run':
      return runCommand(loadPipelineConfig(pipelineFile(rest)), logger);
    case 'demo':
      return demoCommand(loadPipelineConfig(pipelineFile(rest)), logger);
    case 'produce':
      return produceCommand(rest, logger);
    case 'pretrain':
      return pretrainCommand(rest, logger);
    case 'kernel':
      return kernelCommand(rest);
    case 'doctor':
      return doctorCommand(rest);
    default:
      process.stderr.write(`tangent: unknown command "${command}"\n${usage}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof TangentError || error instanceof TypeError ? error.message : String(error);
    process.stderr.write(`tangent: ${message}\n`);
    process.exit(error instanceof TangentError && !error.retriable ? 2 : 1);
  },
);
