import { closeSync, openSync, readFileSync, unlinkSync, utimesSync, writeSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CheckpointError } from './checkpoint-store.js';
import { processAlive } from './process-alive.js';

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
}

/**
 * One writer per checkpoint directory. Two members of a group that share a
 * directory would interleave their checkpoints and later restore each
 * other's state, so the second one refuses to start, naming the owner.
 *
 * The lock is a file holding its owner's pid and host, touched every
 * `refreshMs`. It is taken over when its owner is provably gone: on the same
 * host, a dead pid (a crashed process restarts at once); from another host
 * (a shared volume), a file untouched for `staleMs`. A generic lock library
 * (proper-lockfile) only knows staleness, so a process restarted right after
 * a crash would wait out the stale time.
 */
export class DirectoryLock {
  private timer: NodeJS.Timeout | undefined;

  private constructor(readonly file: string) {}

  static acquire(dir: string, options: { refreshMs?: number; staleMs?: number } = {}): DirectoryLock {
    const refreshMs = options.refreshMs ?? 2_000;
    const staleMs = options.staleMs ?? 15_000;
    const file = join(dir, 'owner.lock');
    const me: LockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(file, 'wx');
        try {
          writeSync(fd, JSON.stringify(me));
        } finally {
          closeSync(fd);
        }
        const lock = new DirectoryLock(file);
        lock.timer = setInterval(() => lock.touch(), refreshMs).unref();
        return lock;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      let owner: LockOwner | undefined;
      let ageMs = 0;
      try {
        owner = JSON.parse(readFileSync(file, 'utf8')) as LockOwner;
        ageMs = Date.now() - statSync(file).mtimeMs;
      } catch {
        // Unreadable (being written, or torn by a crash): judged by its age alone.
        try {
          ageMs = Date.now() - statSync(file).mtimeMs;
        } catch {
          continue;
        }
      }
      const gone = owner && owner.host === me.host ? owner.pid !== process.pid && !processAlive(owner.pid) : ageMs > staleMs;
      if (!gone) {
        throw new CheckpointError(
          `checkpoint directory ${dir} is in use by another member (${owner ? `pid ${owner.pid} on ${owner.host}, since ${owner.startedAt}` : 'unknown owner'}): ` +
            'members of a group need their own checkpoint directory — give each a checkpoint.instanceId (TANGENT_INSTANCE_ID) or its own checkpoint.dir',
        );
      }
      try {
        unlinkSync(file);
      } catch {
        // Another starter removed it first; try again.
      }
    }
    throw new CheckpointError(`cannot lock checkpoint directory ${dir}: another member keeps taking it`);
  }

  private touch(): void {
    const now = new Date();
    try {
      utimesSync(this.file, now, now);
    } catch {
      // Gone (the directory was removed): nothing to keep fresh.
    }
  }

  release(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    try {
      const owner = JSON.parse(readFileSync(this.file, 'utf8')) as LockOwner;
      if (owner.pid === process.pid && owner.host === hostname()) unlinkSync(this.file);
    } catch {
      // Already gone.
    }
  }
}
