import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { waitFor } from '../integration/kafka-helpers.js';
import { tangentImage } from './images.js';

/**
 * docker-compose.yml brought up for real (Debian's docker-compose or `docker
 * compose`, through DOCKER_HOST: Podman's Docker API here) with the tangent image
 * the suite built: Kafka, topic creation, tangent, the load generator and
 * Prometheus. Checks every service is up (Kafka and Prometheus healthy), that
 * Prometheus scrapes tangent (target health "up") and that the records the load
 * generator sends are learned. Grafana stays behind its profile (no image here).
 * Host ports come from *_HOST_PORT (defaults 29190-29194 here), the project is
 * `tangent-test`, and the stack is removed whatever happens.
 */
const runtime = inject('containerRuntime');
const build = inject('tangentImageBuild');
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const project = 'tangent-test';
const ports = {
  KAFKA_HOST_PORT: process.env.KAFKA_HOST_PORT || '29194',
  TANGENT_METRICS_HOST_PORT: process.env.TANGENT_METRICS_HOST_PORT || '29191',
  PROMETHEUS_HOST_PORT: process.env.PROMETHEUS_HOST_PORT || '29190',
};

function composeCommand(): string[] {
  if (spawnSync('docker-compose', ['version', '--short'], { encoding: 'utf8' }).status === 0) return ['docker-compose'];
  return ['docker', 'compose'];
}

function compose(args: string[]): { ok: boolean; output: string } {
  const [command, ...prefix] = composeCommand();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...ports,
    COMPOSE_PROJECT_NAME: project,
    TANGENT_IMAGE: tangentImage,
    // The locally built stand-ins where infra/containers/setup.sh made them; the stock images otherwise.
    ...(process.env.TANGENT_KAFKA_IMAGE ? { KAFKA_IMAGE: process.env.TANGENT_KAFKA_IMAGE } : {}),
    ...(process.env.TANGENT_PROMETHEUS_IMAGE ? { PROMETHEUS_IMAGE: process.env.TANGENT_PROMETHEUS_IMAGE } : {}),
  };
  const result = spawnSync(command!, [...prefix, '-f', 'docker-compose.yml', ...args], { cwd: repoRoot, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

async function prometheus<T>(path: string): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${ports.PROMETHEUS_HOST_PORT}${path}`, { signal: AbortSignal.timeout(5000) });
  return ((await response.json()) as { data: T }).data;
}

interface Target {
  labels: Record<string, string>;
  health: string;
  lastError: string;
  scrapeUrl: string;
}

async function instantValue(query: string): Promise<number> {
  const data = await prometheus<{ result: { value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent(query)}`);
  return data.result.length > 0 ? Number(data.result[0]!.value[1]) : 0;
}

describe('docker-compose.yml, brought up', () => {
  it.skipIf(!runtime.available)('runs Kafka, tangent, the producer and Prometheus; Prometheus scrapes tangent, and records are learned', async () => {
    expect(build.ok, `image build failed:\n${build.tail}`).toBe(true);
    compose(['down', '-v', '--remove-orphans']);
    const started = Date.now();
    try {
      const up = compose(['up', '-d', '--no-build']);
      expect(up.ok, up.output).toBe(true);

      let tangentTarget: Target | undefined;
      await waitFor(async () => {
        const targets = await prometheus<{ activeTargets: Target[] }>('/api/v1/targets').catch(() => undefined);
        tangentTarget = targets?.activeTargets.find((t) => t.labels.job === 'tangent');
        return tangentTarget?.health === 'up';
      }, 300_000, 'Prometheus to scrape tangent');
      let learned = 0;
      await waitFor(async () => {
        learned = await instantValue('sum(tangent_records_total{result="learned"})').catch(() => 0);
        return learned >= 1_000;
      }, 300_000, 'Prometheus to record 1,000 learned records');
      const deadLettered = await instantValue('sum(tangent_records_total{result="dead_lettered"})');
      // Health is checked on a ticker (no systemd here): a service shows "health: starting" until its first check passes.
      let ps = compose(['ps']);
      await waitFor(() => {
        ps = compose(['ps']);
        return ['kafka', 'prometheus'].every((service) => new RegExp(`${project}_${service}_1\\s.*\\(healthy\\)`).test(ps.output));
      }, 120_000, 'Kafka and Prometheus to report healthy');
      console.log(`[containers] compose stack up in ${((Date.now() - started) / 1000).toFixed(0)} s\n${ps.output.trim()}`);
      console.log(
        `[containers] Prometheus target tangent: ${tangentTarget!.health} (${tangentTarget!.scrapeUrl}); ` +
          `tangent_records_total: learned ${learned}, dead_lettered ${deadLettered}`,
      );
      for (const service of ['kafka', 'tangent', 'producer', 'prometheus']) expect(ps.output, service).toMatch(new RegExp(`${project}_${service}_1\\s.*\\bUp\\b`));
      expect(ps.output).toMatch(new RegExp(`${project}_kafka_1\\s.*\\(healthy\\)`));
      expect(ps.output).toMatch(new RegExp(`${project}_prometheus_1\\s.*\\(healthy\\)`));
      expect(ps.output).toMatch(new RegExp(`${project}_kafka-init_1\\s.*Exit 0`));
      expect(ps.output).not.toContain('grafana');
      // The producer sends 2 % malformed records: they are dead-lettered, not learned.
      expect(deadLettered).toBeGreaterThan(0);
    } catch (error) {
      console.log(compose(['logs', '--tail', '40']).output);
      throw error;
    } finally {
      const down = compose(['down', '-v', '--remove-orphans']);
      if (!down.ok) console.log(`[containers] compose down: ${down.output}`);
    }
  });
});
