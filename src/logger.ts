import { pino, type Logger } from 'pino';
import { UsageError } from './errors.js';

const levels = [...Object.keys(pino.levels.values), 'silent'];

/** The log level TANGENT_LOG_LEVEL asks for (default info), refused by name when pino does not know it. */
function logLevelOf(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const level = env.TANGENT_LOG_LEVEL === undefined || env.TANGENT_LOG_LEVEL === '' ? 'info' : env.TANGENT_LOG_LEVEL;
  if (!levels.includes(level)) throw new UsageError(`TANGENT_LOG_LEVEL="${level}" is not a log level: use one of ${levels.join(', ')}`);
  return level;
}

/** Structured JSON logs on stdout; level from TANGENT_LOG_LEVEL (default info) unless given. */
export function createLogger(name = 'tangent', level = logLevelOf()): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
