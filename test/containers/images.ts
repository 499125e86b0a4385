import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** tangent's CPU image as the container suite builds it once per run (infra/containers/build-image.sh). */
export const tangentImage = process.env.TANGENT_IMAGE || 'tangent:local';

export interface ImageBuild {
  readonly ok: boolean;
  readonly seconds: number;
  /** The build's last lines: its size on success, the error on failure. */
  readonly tail: string;
}

const buildScript = fileURLToPath(new URL('../../infra/containers/build-image.sh', import.meta.url));

export function buildTangentImage(): ImageBuild {
  const started = Date.now();
  const result = spawnSync('bash', [buildScript, tangentImage], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  return { ok: result.status === 0, seconds: (Date.now() - started) / 1000, tail: output.trim().split('\n').slice(-25).join('\n') };
}
