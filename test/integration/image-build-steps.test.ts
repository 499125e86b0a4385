import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ensureTopics } from '../../src/kafka/topics.js';
import { testKafka, uniqueName } from './kafka-helpers.js';

/**
 * The container images' steps, run outside Docker so they cannot rot while
 * nobody has an engine: scripts/image-build-steps.sh install/build/verify/prune
 * in a fresh copy of the repo (as the Dockerfile's build stage), then
 * start-check (live, ready, SIGTERM -> exit 0) against the real broker from a
 * directory holding only what the Dockerfile's runtime stage copies.
 */
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'tangent-image-'));
const buildDir = join(work, 'build');
const runtimeDir = join(work, 'runtime');

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Does the native backend load in this checkout? Then the image steps must get it too. */
function nativeLoadsHere(): boolean {
  const lib = join(repoRoot, 'node_modules/@tensorflow/tfjs-node/lib');
  return existsSync(lib) && readdirSync(lib).some((d) => existsSync(join(lib, d, 'tfjs_binding.node')));
}

function steps(dir: string, args: string[], env: Record<string, string>, timeoutMs: number): string {
  const result = spawnSync('bash', [join(dir, 'scripts/image-build-steps.sh'), ...args], {
    cwd: dir,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 << 20,
  });
  const output = `${result.stdout}${result.stderr}`;
  const lines = output.split('\n').filter((l) => l.startsWith('[image]') || l.startsWith('[tfjs-native] FAILED'));
  console.log(lines.join('\n'));
  if (result.status !== 0) throw new Error(`image-build-steps.sh ${args.join(' ')} exited ${result.status ?? result.signal}:\n${output.slice(-6000)}`);
  return output;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

describe('scripts/image-build-steps.sh (the Dockerfile steps, without Docker)', () => {
  const native = nativeLoadsHere() ? 'required' : 'optional';

  it(`installs (npm ci, allowScripts only, native backend ${native}), builds, verifies and prunes a fresh copy`, () => {
    mkdirSync(buildDir);
    // The tracked files: a fresh clone, as CI and `docker build` of a checkout see it (no work in progress).
    const files = execFileSync('git', ['ls-files', '-z', '--cached'], { cwd: repoRoot });
    execFileSync('tar', ['--null', '--ignore-failed-read', '-T', '-', '-cf', join(work, 'src.tar')], { cwd: repoRoot, input: files });
    execFileSync('tar', ['-xf', join(work, 'src.tar'), '-C', buildDir]);
    expect(existsSync(join(buildDir, 'node_modules'))).toBe(false);

    const output = steps(buildDir, ['install', 'build', 'verify', 'prune'], { TANGENT_VARIANT: 'cpu', TANGENT_NATIVE: native }, 1_200_000);
    expect(output).toMatch(/\[image\] node dist\/cli\.js --help: ok/);
    const backend = /\[image\] backend: (\S+)/.exec(output)?.[1];
    expect(backend).toBeDefined();
    if (native === 'required') expect(backend).toBe('tensorflow');
    // Pruned like the runtime stage wants it: no dev tooling, no unused native variant, no source maps.
    for (const gone of ['typescript', 'vitest', 'tsx', '@tensorflow/tfjs-node-gpu']) {
      expect(existsSync(join(buildDir, 'node_modules', gone)), gone).toBe(false);
    }
    for (const kept of ['kafkajs', 'prom-client', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm']) {
      expect(existsSync(join(buildDir, 'node_modules', kept)), kept).toBe(true);
    }
    expect(existsSync(join(buildDir, 'dist/cli.js'))).toBe(true);
  }, 1_500_000);

  it('starts `tangent run` from only the runtime files, live and ready on the broker, and exits 0 on SIGTERM', async () => {
    expect(existsSync(join(buildDir, 'dist/cli.js')), 'the install step ran').toBe(true);
    // Exactly what the Dockerfile's runtime stage copies.
    mkdirSync(join(runtimeDir, 'scripts'), { recursive: true });
    renameSync(join(buildDir, 'node_modules'), join(runtimeDir, 'node_modules'));
    cpSync(join(buildDir, 'dist'), join(runtimeDir, 'dist'), { recursive: true });
    cpSync(join(buildDir, 'package.json'), join(runtimeDir, 'package.json'));
    cpSync(join(buildDir, 'scripts/image-build-steps.sh'), join(runtimeDir, 'scripts/image-build-steps.sh'));
    cpSync(join(buildDir, 'pipelines'), join(runtimeDir, 'pipelines'), { recursive: true });

    // tangent refuses a missing input topic (kafka.createTopics is off by default): create it, as a deployment would.
    const topic = uniqueName('image-start-check');
    await ensureTopics(testKafka(), [topic], 3);
    const output = steps(
      runtimeDir,
      ['verify', 'start-check'],
      {
        TANGENT_NATIVE: native,
        KAFKA_BROKERS: inject('kafkaBrokers'),
        TANGENT_TOPIC: topic,
        TANGENT_GROUP_ID: `${topic}-group`,
        TANGENT_METRICS_PORT: String(await freePort()),
        TANGENT_START_TIMEOUT_S: '180',
      },
      300_000,
    );
    expect(output).toMatch(/\[image\] \/healthz 200 after \d+s/);
    expect(output).toMatch(/\[image\] \/readyz 200 after \d+s/);
    expect(output).toContain('[image] start-check: SIGTERM -> clean exit 0');
    expect(output).toMatch(/tangent: learning on backend \S+/);
    // The healthcheck step (the images' HEALTHCHECK) reports unhealthy once the consumer is gone.
    const health = spawnSync('bash', [join(runtimeDir, 'scripts/image-build-steps.sh'), 'healthcheck'], {
      env: { ...process.env, TANGENT_METRICS_PORT: '9' },
    });
    expect(health.status).not.toBe(0);
  }, 600_000);
});
