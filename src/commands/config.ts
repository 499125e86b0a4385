import type { Command } from 'commander';
import { loadPipelineConfig, pipelineJsonSchema } from '../config/load-pipeline-config.js';

/** Adds `tangent config schema` and `tangent config check`. */
export function addConfigCommand(program: Command): void {
  const config = program.command('config').description('the pipeline file: its JSON Schema, or a check of a file');
  config
    .command('schema')
    .description('print the JSON Schema of the pipeline file (for editors: yaml-language-server, VS Code)')
    .action(() => {
      process.stdout.write(`${JSON.stringify({ ...pipelineJsonSchema, title: 'tangent pipeline' }, null, 2)}\n`);
    });
  config
    .command('check')
    .description('validate a pipeline file with the environment overrides and print the resolved config as JSON')
    .argument('[file]', 'pipeline YAML (default: built-in defaults)')
    .action((file: string | undefined) => {
      process.stdout.write(`${JSON.stringify(loadPipelineConfig(file), null, 2)}\n`);
    });
}
