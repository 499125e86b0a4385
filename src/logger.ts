import { pino, type Logger } from 'pino';

/** Structured JSON logs on stdout; level from TANGENT_LOG_LEVEL (default info). */
export function createLogger(name = 'tangent'): Logger {
  return pino({
    name,
    level: process.env.TANGENT_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
