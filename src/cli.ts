#!/usr/bin/env node
import { CommanderError } from 'commander';
import { buildProgram, exitCodes } from './commands/program.js';
import { ConfigError, UsageError, errorMessage } from './errors.js';

/** One line per error on stderr (a config error with several bad fields gives one line each). */
function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // commander has already printed its message (or the help/version text).
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return exitCodes.ok;
    return exitCodes.usage;
  }
  const message = errorMessage(error);
  for (const line of message.split('\n')) if (line.trim() !== '') process.stderr.write(`tangent: ${line}\n`);
  return error instanceof ConfigError || error instanceof UsageError ? exitCodes.usage : exitCodes.failure;
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : exitCodes.ok;
  } catch (error) {
    return reportError(error);
  }
}

// Exits explicitly: kafkajs may keep timers alive after a failure.
main(process.argv.slice(2)).then((code) => process.exit(code));
