import { Command } from 'commander';
import { addConfigCommand } from './config.js';
import { addDemoCommand } from './demo.js';
import { addDoctorCommand } from './doctor.js';
import { addExportCommand } from './export.js';
import { addKernelCommand } from './kernel.js';
import { addPretrainCommand } from './pretrain.js';
import { addProduceCommand } from './produce.js';
import { addRunCommand } from './run.js';
import { tangentVersion } from '../version.js';

/** Exit codes, documented in `tangent --help` and the README. */
export const exitCodes = { ok: 0, failure: 1, usage: 2 } as const;

/** The whole command line: every command, its options and help. */
export function buildProgram(): Command {
  const program = new Command('tangent')
    .description('A Kafka stream consumer that learns online, with an NTK-GP baseline, drift detection and Prometheus metrics.')
    .version(tangentVersion, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      // One line: commander puts its "(Did you mean …?)" suggestion on a line of its own.
      outputError: (text, write) => write(`tangent: ${text.replace(/^error: /, '').replace(/\n(?=\(Did you mean)/, ' ')}`),
    })
    .addHelpText(
      'after',
      `
Exit codes: 0 ok · 1 runtime failure (broker, I/O, pipeline) · 2 usage or config error.
Environment: KAFKA_BROKERS, TANGENT_TOPIC, TANGENT_GROUP_ID, TANGENT_METRICS_PORT, TANGENT_METRICS_HOST,
             TANGENT_BACKEND, TANGENT_INSTANCE_ID, TANGENT_LOG_LEVEL (fatal|error|warn|info|debug|trace|silent).
'tangent <command> --help' shows a command's options.`,
    );
  addRunCommand(program);
  addDemoCommand(program);
  addProduceCommand(program);
  addPretrainCommand(program);
  addExportCommand(program);
  addKernelCommand(program);
  addDoctorCommand(program);
  addConfigCommand(program);
  return program;
}

