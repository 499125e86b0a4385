import { closeSync, mkdirSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const reasons: Record<string, string> = {
    ENOTDIR: 'a part of the path is a file, not a directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'the file system is read-only',
    ENOSPC: 'no space left on the device',
    ENOENT: 'cannot be created there (the file system does not allow new directories at this place)',
  };
  return (code && reasons[code]) ?? (error as Error).message;
}

/**
 * Makes sure `dir` exists, is a directory and takes a file, naming
 * `field` and the real cause when it does not. Directories are created one
 * level at a time from the deepest existing ancestor: Node's recursive mkdir
 * never returns for some paths (under /proc, for one).
 */
export function prepareDirectory(dir: string, field: string): void {
  const absolute = resolve(dir);
  const missing: string[] = [];
  let existing = absolute;
  for (;;) {
    try {
      if (!statSync(existing).isDirectory()) {
        throw new ConfigError(field, `cannot use ${dir}: ${existing} is a file, not a directory`);
      }
      break;
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new ConfigError(field, `cannot use ${dir}: ${describe(error)}`);
      missing.unshift(existing);
      const parent = dirname(existing);
      if (parent === existing) break;
      existing = parent;
    }
  }
  for (const level of missing) {
    try {
      mkdirSync(level);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new ConfigError(field, `cannot create ${level}: ${describe(error)}`);
    }
  }
  const probe = join(absolute, `.write-probe-${process.pid}`);
  try {
    const fd = openSync(probe, 'w');
    try {
      writeSync(fd, 'ok');
    } finally {
      closeSync(fd);
    }
    unlinkSync(probe);
  } catch (error) {
    throw new ConfigError(field, `cannot write in ${dir}: ${describe(error)}`);
  }
}
