import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEnvFile, prepareContainerRuntime, runtimeEnvFile } from '../../containers/runtime.js';

/**
 * How the container suite finds its runtime (test/containers/runtime.ts): the
 * file infra/containers/setup.sh writes, and what happens when it says there is
 * no runtime. The real runtime path runs in the containers project.
 */
const scratch = mkdtempSync(join(tmpdir(), 'tangent-runtime-env-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the container runtime of the container suite', () => {
  it('reads KEY=value lines, skipping comments and anything else', () => {
    expect(parseEnvFile('# written by setup.sh\nDOCKER_HOST=unix:///run/podman/podman.sock\n\nnot a line\nTANGENT_CONTAINER_RUNTIME=podman-4.3.1\n')).toEqual({
      DOCKER_HOST: 'unix:///run/podman/podman.sock',
      TANGENT_CONTAINER_RUNTIME: 'podman-4.3.1',
    });
    expect(runtimeEnvFile({ TANGENT_CACHE: '/c' })).toBe('/c/containers/runtime.env');
    expect(runtimeEnvFile({ TANGENT_CONTAINERS_ENV: '/x.env', TANGENT_CACHE: '/c' })).toBe('/x.env');
  });

  it('skips with setup.sh\'s reason when it found no runtime, and fails instead when the suite is required', async () => {
    const file = join(scratch, 'runtime.env');
    writeFileSync(file, 'TANGENT_CONTAINERS_UNAVAILABLE=no runtime answers, and installing Podman needs root\n');
    const auto = await prepareContainerRuntime({ TANGENT_CONTAINERS_ENV: file, TANGENT_CONTAINER_TESTS: 'auto' });
    expect(auto).toMatchObject({ available: false, reason: expect.stringContaining('installing Podman needs root') });
    await expect(prepareContainerRuntime({ TANGENT_CONTAINERS_ENV: file, TANGENT_CONTAINER_TESTS: 'required' })).rejects.toThrow(
      /TANGENT_CONTAINER_TESTS=required, but .*installing Podman needs root/,
    );
    await expect(prepareContainerRuntime({ TANGENT_CONTAINERS_ENV: file, TANGENT_CONTAINER_TESTS: 'sometimes' })).rejects.toThrow(/auto or required/);
  });
});
