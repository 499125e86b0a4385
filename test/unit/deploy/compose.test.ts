import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildProgram } from '../../../src/commands/program.js';
import { parsePipelineConfig } from '../../../src/config/load-pipeline-config.js';
import { deadLetterTopicOf } from '../../../src/config/pipeline-config.js';
import { deployTool, readRepoFile, repoPath, repoRoot, run } from './helpers.js';

/**
 * docker-compose.yml (+ docker-compose.gpu.yml), checked without a Docker
 * engine: `docker-compose config` (Debian's docker-compose, installed by
 * scripts/deploy-tools.sh when missing) validates the files against the
 * Compose schema and resolves them; the tests then cross-check the resolved
 * model against the repo (mounted files exist, ports, service names, the
 * Prometheus and Grafana configs point at the right services).
 */

type Service = {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: (string | { type: string; source: string; target: string; read_only?: boolean })[];
  ports?: (string | { published: number | string; target: number })[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  profiles?: string[];
  deploy?: any;
};
type ComposeModel = { services: Record<string, Service>; volumes?: Record<string, unknown> };

/** Variables the compose files interpolate: unset, so the defaults are what is checked. */
const composeVariables = [
  'TANGENT_IMAGE', 'TANGENT_GPU_IMAGE', 'TANGENT_PIPELINE', 'TANGENT_LOG_LEVEL', 'TANGENT_BUILD_IMAGE', 'TANGENT_RUNTIME_IMAGE',
  'KAFKA_IMAGE', 'PROMETHEUS_IMAGE', 'GRAFANA_VERSION', 'GRAFANA_ADMIN_USER', 'GRAFANA_ADMIN_PASSWORD',
  'KAFKA_HOST_PORT', 'TANGENT_METRICS_HOST_PORT', 'PROMETHEUS_HOST_PORT', 'GRAFANA_HOST_PORT',
  'COMPOSE_FILE', 'COMPOSE_PROJECT_NAME', 'COMPOSE_PROFILES',
];

let compose: string;
let model: ComposeModel;
let gpuModel: ComposeModel;
let scratch: string;

function composeConfig(files: string[], cwd = repoRoot): string {
  const env = { ...process.env };
  for (const name of composeVariables) delete env[name];
  return run(compose, [...files.flatMap((f) => ['-f', f]), 'config'], { cwd, env });
}

beforeAll(() => {
  compose = deployTool('compose');
  model = parseYaml(composeConfig(['docker-compose.yml'])) as ComposeModel;
  gpuModel = parseYaml(composeConfig(['docker-compose.yml', 'docker-compose.gpu.yml'])) as ComposeModel;
  scratch = mkdtempSync(join(tmpdir(), 'tangent-compose-'));
}, 600_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
  bind: boolean;
}

function mountsOf(service: Service): Mount[] {
  return (service.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return { source: v.source, target: v.target, readOnly: Boolean(v.read_only), bind: v.type === 'bind' };
    const [source, target, mode] = v.split(':') as [string, string, string | undefined];
    return { source, target, readOnly: mode === 'ro', bind: source.startsWith('/') || source.startsWith('.') };
  });
}

function portsOf(service: Service): { published: number; target: number }[] {
  return (service.ports ?? []).map((p) => {
    if (typeof p !== 'string') return { published: Number(p.published), target: Number(p.target) };
    const [published, target] = p.split(':').map(Number) as [number, number];
    return { published, target };
  });
}

describe('docker-compose.yml', () => {
  it('passes `docker-compose config` with the expected services', () => {
    expect(Object.keys(model.services).sort()).toEqual(['grafana', 'kafka', 'kafka-init', 'producer', 'prometheus', 'tangent']);
    expect(run(compose, ['version', '--short']).trim()).toMatch(/^\d+\.\d+/);
  });

  it('`docker-compose config` rejects an invalid file (negative control)', () => {
    const bad = join(scratch, 'docker-compose.yml');
    writeFileSync(bad, 'services:\n  x:\n    image: busybox\n    ports: "not-a-list"\n    restart_policy: always\n');
    expect(() => composeConfig([bad], scratch)).toThrow(/ports|restart_policy|Additional properties|invalid/i);
  });

  it('bind-mounts only files and directories that exist in the repo', () => {
    const binds = Object.entries(model.services).flatMap(([name, s]) => mountsOf(s).filter((m) => m.bind).map((m) => ({ name, ...m })));
    expect(binds.length).toBeGreaterThanOrEqual(5);
    for (const bind of binds) {
      const inRepo = relative(repoRoot, bind.source);
      expect(inRepo.startsWith('..'), `${bind.name}: ${bind.source} is outside the repo`).toBe(false);
      const stat = statSync(bind.source, { throwIfNoEntry: false });
      expect(stat, `${bind.name}: ${inRepo} does not exist`).toBeDefined();
      expect(bind.readOnly, `${bind.name}: ${inRepo} should be mounted read-only`).toBe(true);
    }
    const sources = binds.map((b) => relative(repoRoot, b.source));
    expect(sources).toEqual(
      expect.arrayContaining([
        'pipelines/default.yaml',
        'infra/prometheus/prometheus.yml',
        'infra/prometheus/alerts.yml',
        'infra/grafana/provisioning',
        'infra/grafana/dashboards',
      ]),
    );
    expect(statSync(repoPath('infra/grafana/provisioning')).isDirectory()).toBe(true);
    expect(statSync(repoPath('infra/grafana/dashboards')).isDirectory()).toBe(true);
  });

  it('keeps Grafana behind the `grafana` profile, and health-checks Kafka, Prometheus and Grafana', () => {
    expect(model.services.grafana!.profiles).toEqual(['grafana']);
    for (const name of ['kafka', 'tangent', 'producer', 'prometheus']) expect(model.services[name]!.profiles, name).toBeUndefined();
    expect(model.services.prometheus!.healthcheck?.test?.join(' ')).toContain('http://localhost:9090/-/ready');
    expect(model.services.grafana!.healthcheck?.test?.join(' ')).toContain('http://localhost:3000/api/health');
    expect(model.services.grafana!.depends_on?.prometheus?.condition).toBe('service_healthy');
  });

  it('builds tangent from the official Node images unless told otherwise (the Podman route points elsewhere)', () => {
    const args = (model.services.tangent!.build as unknown as { args: Record<string, string> }).args;
    expect(args).toEqual({ BUILD_IMAGE: 'node:20-bookworm', RUNTIME_IMAGE: 'node:20-bookworm-slim' });
    expect(model.services.prometheus!.image).toMatch(/^prom\/prometheus:v\d/);
  });

  it('publishes Grafana on 3000, Prometheus on 9090 and the tangent metrics on 9464', () => {
    expect(portsOf(model.services.grafana!)).toContainEqual({ published: 3000, target: 3000 });
    expect(portsOf(model.services.prometheus!)).toContainEqual({ published: 9090, target: 9090 });
    expect(portsOf(model.services.tangent!)).toContainEqual({ published: 9464, target: 9464 });
    const published = Object.values(model.services).flatMap((s) => portsOf(s).map((p) => p.published));
    expect(new Set(published).size).toBe(published.length);
  });

  it('runs Kafka in KRaft mode (apache/kafka, one node) and creates the topics before tangent starts', () => {
    const kafka = model.services.kafka!;
    expect(kafka.image).toMatch(/^apache\/kafka:\d/);
    expect(kafka.environment).toMatchObject({
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@kafka:9093',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
    });
    expect(kafka.environment!.KAFKA_ADVERTISED_LISTENERS).toContain('PLAINTEXT://kafka:9092');
    expect(kafka.healthcheck?.test?.join(' ')).toContain('kafka-broker-api-versions.sh');

    const init = model.services['kafka-init']!;
    expect(init.depends_on?.kafka?.condition).toBe('service_healthy');
    const script = init.command!.join(' ');
    const pipeline = parsePipelineConfig(parseYaml(readRepoFile('pipelines/default.yaml')), model.services.tangent!.environment);
    for (const topic of [pipeline.kafka.topic, deadLetterTopicOf(pipeline.kafka)]) expect(script).toContain(topic);
    expect(script).toContain('--partitions 3');
    for (const name of ['tangent', 'producer']) {
      expect(model.services[name]!.depends_on?.['kafka-init']?.condition, name).toBe('service_completed_successfully');
    }
  });

  it('builds the tangent consumer from the Dockerfile with the pipeline from pipelines/ and metrics on 0.0.0.0', () => {
    const tangent = model.services.tangent!;
    expect(tangent.build?.dockerfile).toBe('Dockerfile');
    expect(tangent.build?.context).toBe(repoRoot.replace(/\/$/, ''));
    expect(tangent.command).toEqual(['run', '--pipeline', '/etc/tangent/pipeline.yaml']);
    expect(tangent.environment).toMatchObject({ KAFKA_BROKERS: 'kafka:9092', TANGENT_METRICS_HOST: '0.0.0.0' });
    const pipelineMount = mountsOf(tangent).find((m) => m.target === '/etc/tangent/pipeline.yaml')!;
    expect(relative(repoRoot, pipelineMount.source)).toMatch(/^pipelines\/.+\.ya?ml$/);
    const config = parsePipelineConfig(parseYaml(readRepoFile(relative(repoRoot, pipelineMount.source))), tangent.environment);
    expect(config.kafka.brokers).toEqual(['kafka:9092']);
    expect(config.metrics.host).toBe('0.0.0.0');
    expect(portsOf(tangent).map((p) => p.target)).toContain(config.metrics.port);
    // Checkpoints survive a container restart: a named volume at /var/lib/tangent, the image's WORKDIR,
    // so the pipeline's checkpoint.dir (relative by default) lands on it.
    expect(mountsOf(tangent).find((m) => m.target === '/var/lib/tangent')?.bind).toBe(false);
    const checkpointDir = config.checkpoint.dir.startsWith('/') ? config.checkpoint.dir : posix.join('/var/lib/tangent', config.checkpoint.dir);
    expect(checkpointDir.startsWith('/var/lib/tangent')).toBe(true);
    expect(readRepoFile('Dockerfile')).toMatch(/\nWORKDIR \/var\/lib\/tangent\n/);
  });

  it('runs the load generator as `tangent produce --rate 2000 --malformed 0.02` from the same image', () => {
    const producer = model.services.producer!;
    expect(producer.image).toBe(model.services.tangent!.image);
    expect(producer.build?.dockerfile).toBe('Dockerfile');
    const args = producer.command!;
    expect(args[0]).toBe('produce');
    expect(args.slice(args.indexOf('--rate'), args.indexOf('--rate') + 2)).toEqual(['--rate', '2000']);
    expect(args.slice(args.indexOf('--malformed'), args.indexOf('--malformed') + 2)).toEqual(['--malformed', '0.02']);
    const produceFlags = buildProgram().commands.find((c) => c.name() === 'produce')!.options.map((o) => o.long);
    for (const flag of args.filter((a) => a.startsWith('--'))) expect(produceFlags, flag).toContain(flag);
    expect(producer.environment?.KAFKA_BROKERS).toBe('kafka:9092');
    // The image's HEALTHCHECK probes /healthz, which the producer does not serve (`disable: true`, shown as NONE by v1).
    expect(producer.healthcheck?.disable === true || producer.healthcheck?.test?.[0] === 'NONE').toBe(true);
  });

  it('points Prometheus at tangent:9464 with the alert rules, and Grafana at Prometheus (anonymous viewer)', () => {
    const prometheusConfig = parseYaml(readRepoFile('infra/prometheus/prometheus.yml')) as any;
    const job = prometheusConfig.scrape_configs.find((j: any) => j.job_name === 'tangent');
    const targets: string[] = job.static_configs.flatMap((c: any) => c.targets);
    expect(targets).toContain('tangent:9464');
    const [host, port] = targets[0]!.split(':');
    expect(model.services[host!]).toBeDefined();
    expect(portsOf(model.services[host!]!).map((p) => p.target)).toContain(Number(port));

    const prometheus = model.services.prometheus!;
    const targetsMounted = mountsOf(prometheus).map((m) => m.target);
    expect(prometheus.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
    expect(targetsMounted).toContain('/etc/prometheus/prometheus.yml');
    for (const rules of prometheusConfig.rule_files as string[]) expect(targetsMounted).toContain(join('/etc/prometheus', rules));

    const grafana = model.services.grafana!;
    expect(grafana.environment).toMatchObject({ GF_AUTH_ANONYMOUS_ENABLED: 'true', GF_AUTH_ANONYMOUS_ORG_ROLE: 'Viewer' });
    const grafanaTargets = Object.fromEntries(mountsOf(grafana).map((m) => [relative(repoRoot, m.source), m.target]));
    expect(grafanaTargets['infra/grafana/provisioning']).toBe('/etc/grafana/provisioning');
    const datasource = parseYaml(readRepoFile('infra/grafana/provisioning/datasources/prometheus.yml')) as any;
    expect(datasource.datasources[0].url).toBe('http://prometheus:9090');
    const provider = (parseYaml(readRepoFile('infra/grafana/provisioning/dashboards/tangent.yml')) as any).providers[0];
    expect(grafanaTargets['infra/grafana/dashboards']).toBe(provider.options.path);
    expect(grafana.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH.startsWith(`${provider.options.path}/`)).toBe(true);
  });
});

describe('docker-compose.gpu.yml (override)', () => {
  it('builds tangent from Dockerfile.gpu and reserves the NVIDIA GPUs; the producer stays on the CPU image', () => {
    const tangent = gpuModel.services.tangent!;
    expect(tangent.build?.dockerfile).toBe('Dockerfile.gpu');
    expect(tangent.image).not.toBe(gpuModel.services.producer!.image);
    expect(tangent.environment).toMatchObject({ TANGENT_BACKEND: 'tensorflow', KAFKA_BROKERS: 'kafka:9092', TANGENT_METRICS_HOST: '0.0.0.0' });
    expect(tangent.deploy.resources.reservations.devices).toContainEqual(expect.objectContaining({ driver: 'nvidia', capabilities: ['gpu'] }));
    expect(gpuModel.services.producer!.build?.dockerfile).toBe('Dockerfile');
    // Everything else is the base file's.
    expect(Object.keys(gpuModel.services).sort()).toEqual(Object.keys(model.services).sort());
    expect(portsOf(tangent)).toContainEqual({ published: 9464, target: 9464 });
  });
});
