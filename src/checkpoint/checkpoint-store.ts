import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { TangentError } from '../errors.js';
import { processAlive } from './process-alive.js';

/**
 * Checkpoints on a local (or mounted) file system: each one a JSON file
 * written atomically (temp file, fsync, rename, fsync of the directory) and
 * sealed with a SHA-256 of its payload, so a torn or corrupt newest file is
 * detected and the previous one used instead. The newest `keep` are kept.
 */
export interface StoredCheckpoint<T> {
  readonly sequence: number;
  readonly file: string;
  readonly state: T;
}

interface Envelope {
  readonly format: 'tangent.checkpoint/1';
  readonly sequence: number;
  readonly createdAt: string;
  readonly sha256: string;
  readonly payload: string;
}

const filePattern = /^checkpoint-(\d{12})\.json$/;
const temporaryPattern = /^checkpoint-\d{12}\.json\.tmp-(\d+)$/;

export class CheckpointError extends TangentError {}

export class CheckpointStore<T> {
  /**
   * A random id made when the directory is first used and kept with its
   * checkpoints: it marks this store's offset commits, so a restart can tell
   * its own commits (a lost newer checkpoint) from other members'.
   */
  readonly id: string;

  constructor(
    readonly dir: string,
    readonly keep: number,
    private readonly onSkip: (file: string, reason: string) => void = () => {},
  ) {
    mkdirSync(dir, { recursive: true });
    // A writer killed between writing its temp file and renaming it leaves the temp file behind for good.
    for (const name of readdirSync(dir)) {
      const pid = temporaryPattern.exec(name)?.[1];
      if (pid !== undefined && Number(pid) !== process.pid && !processAlive(Number(pid))) unlinkSync(join(dir, name));
    }
    const idFile = join(dir, 'store-id');
    if (!existsSync(idFile)) writeFileSync(idFile, `${randomUUID()}\n`);
    this.id = readFileSync(idFile, 'utf8').trim();
  }

  private sequences(): number[] {
    return readdirSync(this.dir)
      .map((name) => filePattern.exec(name)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .sort((a, b) => b - a);
  }

  private fileOf(sequence: number): string {
    return join(this.dir, `checkpoint-${String(sequence).padStart(12, '0')}.json`);
  }

  /**
   * Writes a new checkpoint after the newest one; returns its file. The
   * file system work (write, fsync, rename, fsync of the directory) is
   * asynchronous, so a slow disk never holds the event loop; one write at a
   * time: the caller awaits one before starting the next.
   */
  async write(state: T): Promise<StoredCheckpoint<T>> {
    const sequence = (this.sequences()[0] ?? 0) + 1;
    const payload = JSON.stringify(state);
    const envelope: Envelope = {
      format: 'tangent.checkpoint/1',
      sequence,
      createdAt: new Date().toISOString(),
      sha256: createHash('sha256').update(payload).digest('hex'),
      payload,
    };
    const file = this.fileOf(sequence);
    const temporary = `${file}.tmp-${process.pid}`;
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(JSON.stringify(envelope));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
    const directory = await open(this.dir, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
    for (const old of this.sequences().slice(this.keep)) await unlink(this.fileOf(old));
    return { sequence, file, state };
  }

  /** The newest checkpoint that reads back intact, or undefined when there is none. */
  loadLatest(validate: (state: unknown) => T = (s) => s as T): StoredCheckpoint<T> | undefined {
    for (const sequence of this.sequences()) {
      const file = this.fileOf(sequence);
      try {
        const envelope = JSON.parse(readFileSync(file, 'utf8')) as Partial<Envelope>;
        if (envelope.format !== 'tangent.checkpoint/1' || typeof envelope.payload !== 'string') throw new Error('not a tangent checkpoint');
        const digest = createHash('sha256').update(envelope.payload).digest('hex');
        if (digest !== envelope.sha256) throw new Error('checksum mismatch (torn or corrupt file)');
        return { sequence, file, state: validate(JSON.parse(envelope.payload)) };
      } catch (error) {
        // A state that reads back but does not fit (another model) is the user's to resolve, not to skip.
        if (error instanceof TangentError) throw error;
        this.onSkip(file, (error as Error).message);
      }
    }
    return undefined;
  }
}
