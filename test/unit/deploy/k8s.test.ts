import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { parsePipelineConfig } from '../../../src/config/load-pipeline-config.js';
import { deployTool, findManifest, readRepoFile, renderKustomization, repoPath, run, type Manifest } from './helpers.js';

/**
 * The Kubernetes manifests (infra/k8s), rendered by kustomize and validated
 * offline three ways: strict JSON schemas (kubernetes-validate's Kubernetes
 * schemas from PyPI + infra/k8s/schemas for the two CRDs, via
 * infra/k8s/validate.py), the upstream OpenAPI/CRD schemas compiled into the
 * kubernetes-models packages (npm), and the cross-references between objects.
 */

const kustomizations = ['infra/k8s/base', 'infra/k8s/overlays/example', 'infra/k8s/overlays/sasl'] as const;
/** Partitions of the topics tangent creates (src/consumer-app.ts) and docker-compose.yml's kafka-init. */
const topicPartitions = 3;
/** USER of Dockerfile and Dockerfile.gpu. */
const imageUid = 10001;

type Model = { new (data: any): { validate(): void } };
const models: Record<string, Model> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

interface ValidationRecord {
  resource: string;
  apiVersion: string;
  k8sVersion: string;
  schema: string;
  ok: boolean;
  error: string;
}

let scratch: string;
const rendered = new Map<string, { text: string; manifests: Manifest[] }>();
let python: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'tangent-k8s-'));
  for (const dir of kustomizations) rendered.set(dir, renderKustomization(dir));
  python = deployTool('python');
}, 600_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function strictValidate(manifests: readonly Manifest[], name: string): ValidationRecord[] {
  const file = join(scratch, `${name}.yaml`);
  writeFileSync(file, manifests.map((m) => stringify(m)).join('---\n'));
  try {
    const out = run(python, [repoPath('infra/k8s/validate.py'), '--json', file]);
    return out.trim().split('\n').map((line) => JSON.parse(line) as ValidationRecord);
  } catch (error) {
    // Non-zero exit: some document failed; the JSON lines are in the error's stdout section.
    const text = (error as Error).message;
    const stdout = text.slice(text.indexOf('--- stdout\n') + 11, text.indexOf('\n--- stderr'));
    return stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((line) => JSON.parse(line) as ValidationRecord);
  }
}

function containerOf(deployment: Manifest): any {
  return deployment.spec.template.spec.containers.find((c: any) => c.name === 'tangent');
}

function envOf(container: any): Record<string, string> {
  return Object.fromEntries((container.env ?? []).map((e: any) => [e.name, e.value]));
}

describe.each(kustomizations)('%s', (dir) => {
  const manifests = (): Manifest[] => rendered.get(dir)!.manifests;

  it('renders with kustomize into the expected objects', () => {
    const kinds = manifests().map((m) => m.kind).sort();
    expect(kinds).toEqual(
      expect.arrayContaining(['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'ScaledObject', 'Service', 'ServiceMonitor']),
    );
    // The state is in Kafka: nothing needs a shared (ReadWriteMany) or any persistent volume.
    expect(kinds).not.toContain('PersistentVolumeClaim');
    if (dir.includes('overlays/')) {
      expect(kinds).toContain('Namespace');
      for (const m of manifests().filter((m) => m.kind !== 'Namespace')) expect(m.metadata.namespace, `${m.kind}`).toBe('tangent-example');
    }
  });

  it('passes the strict offline schemas for Kubernetes 1.30 and the newest shipped (infra/k8s/validate.py)', () => {
    const records = strictValidate(manifests(), dir.replaceAll('/', '_'));
    const failures = records.filter((r) => !r.ok);
    expect(failures, failures.map((f) => `${f.resource} k8s ${f.k8sVersion}: ${f.error}`).join('\n')).toEqual([]);
    // Every object was checked against a real schema, twice (two Kubernetes versions).
    expect(records).toHaveLength(manifests().length * 2);
    for (const r of records) expect(r.schema, r.resource).not.toBe('none');
    const byKind = new Set(records.map((r) => r.resource.split('/')[0]));
    expect(byKind).toContain('ScaledObject');
    expect(byKind).toContain('ServiceMonitor');
  });

  it('validates against the upstream OpenAPI and CRD schemas of kubernetes-models', () => {
    for (const manifest of manifests()) {
      const Model = models[`${manifest.apiVersion}/${manifest.kind}`];
      expect(Model, `no kubernetes-models class for ${manifest.apiVersion} ${manifest.kind}`).toBeDefined();
      expect(() => new Model!(manifest).validate(), `${manifest.kind}/${manifest.metadata.name}`).not.toThrow();
    }
  });

  it('wires the probes, port, checkpoint volume, grace period and non-root user together', () => {
    const deployment = findManifest(manifests(), 'Deployment', 'tangent');
    const pod = deployment.spec.template.spec;
    const container = containerOf(deployment);
    expect(container.ports).toContainEqual(expect.objectContaining({ name: 'metrics', containerPort: 9464 }));
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(container.startupProbe.httpGet.path).toBe('/healthz');
    expect(container.args).toEqual(['run', '--pipeline', '/etc/tangent/pipeline.yaml']);
    expect(container.resources.requests).toBeDefined();
    expect(container.resources.limits.memory).toBeDefined();

    // Drain on SIGTERM (finish the batch, checkpoint, commit, leave the group) within the grace period.
    expect(pod.terminationGracePeriodSeconds).toBe(60);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: imageUid, fsGroup: imageUid });

    const mounts = Object.fromEntries(container.volumeMounts.map((m: any) => [m.name, m.mountPath]));
    const volumes = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v]));
    expect(mounts.checkpoints).toBe('/var/lib/tangent');
    // Local checkpoints are a per-pod cache; the state a rescheduled pod restores is in Kafka.
    expect(volumes.checkpoints.emptyDir).toBeDefined();
    expect(volumes.checkpoints.persistentVolumeClaim).toBeUndefined();
    expect(mounts.pipeline).toBe('/etc/tangent');
    findManifest(manifests(), 'ConfigMap', volumes.pipeline.configMap.name);
  });

  it('mounts a pipeline config that the config schema accepts, with the env the Deployment sets', () => {
    const deployment = findManifest(manifests(), 'Deployment', 'tangent');
    const container = containerOf(deployment);
    const configMap = findManifest(manifests(), 'ConfigMap', deployment.spec.template.spec.volumes.find((v: any) => v.name === 'pipeline').configMap.name);
    const config = parsePipelineConfig(parseYaml(configMap.data!['pipeline.yaml']!), envOf(container));
    expect(config.metrics.port).toBe(9464);
    expect(config.metrics.host).toBe('0.0.0.0');
    expect(config.kafka.brokers.join(',')).toBe(envOf(container).KAFKA_BROKERS);
    // Checkpoints on the emptyDir (the root file system is read-only); the state changelog on.
    expect(config.state.changelog).toBe(true);
    const checkpointMount = container.volumeMounts.find((m: any) => m.name === 'checkpoints').mountPath;
    expect(config.checkpoint.dir === checkpointMount || config.checkpoint.dir.startsWith(`${checkpointMount}/`)).toBe(true);
  });

  it('exposes metrics through the Service (scrape annotations) and the ServiceMonitor', () => {
    const deployment = findManifest(manifests(), 'Deployment', 'tangent');
    const podLabels = deployment.spec.template.metadata.labels;
    const service = findManifest(manifests(), 'Service', 'tangent');
    expect(service.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9464', 'prometheus.io/path': '/metrics' });
    for (const [key, value] of Object.entries(service.spec.selector as Record<string, string>)) expect(podLabels[key], key).toBe(value);
    expect(service.spec.ports).toContainEqual(expect.objectContaining({ name: 'metrics', port: 9464, targetPort: 'metrics' }));

    const monitor = findManifest(manifests(), 'ServiceMonitor', 'tangent');
    for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels as Record<string, string>)) {
      expect(service.metadata.labels?.[key], key).toBe(value);
    }
    expect(monitor.spec.endpoints).toContainEqual(expect.objectContaining({ port: 'metrics', path: '/metrics' }));
    // infra/prometheus/alerts.yml's TangentDown expects job="tangent": the Operator names the job after the Service.
    expect(service.metadata.name).toBe('tangent');
  });

  it('scales with KEDA on the consumer group lag, up to the partition count', () => {
    const deployment = findManifest(manifests(), 'Deployment', 'tangent');
    const container = containerOf(deployment);
    const configMap = findManifest(manifests(), 'ConfigMap');
    const config = parsePipelineConfig(parseYaml(configMap.data!['pipeline.yaml']!), envOf(container));
    const scaled = findManifest(manifests(), 'ScaledObject', 'tangent');
    expect(scaled.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: deployment.metadata.name });
    expect(scaled.spec.maxReplicaCount).toBe(topicPartitions);
    expect(scaled.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(scaled.spec.minReplicaCount).toBeLessThanOrEqual(scaled.spec.maxReplicaCount);
    expect(scaled.spec.triggers).toHaveLength(1);
    const trigger = scaled.spec.triggers[0];
    expect(trigger.type).toBe('kafka');
    expect(trigger.metadata).toMatchObject({
      bootstrapServers: envOf(container).KAFKA_BROKERS,
      consumerGroup: config.kafka.groupId,
      topic: config.kafka.topic,
      allowIdleConsumers: 'false',
    });
    expect(Number(trigger.metadata.lagThreshold)).toBeGreaterThan(0);
  });
});

describe('voluntary disruptions and a SASL cluster', () => {
  it.each(kustomizations)('%s: the PodDisruptionBudget covers exactly the Deployment\'s pods and lets one go at a time', (dir) => {
    const manifests = rendered.get(dir)!.manifests;
    const deployment = findManifest(manifests, 'Deployment', 'tangent');
    const budget = findManifest(manifests, 'PodDisruptionBudget', 'tangent');
    expect(budget.spec.maxUnavailable).toBe(1);
    expect(budget.spec.minAvailable).toBeUndefined();
    const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
    for (const [key, value] of Object.entries(budget.spec.selector.matchLabels as Record<string, string>)) expect(podLabels[key], key).toBe(value);
    expect(budget.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
  });

  it('the SASL overlay: KEDA authenticates through a TriggerAuthentication reading the Secret tangent mounts, and the pipeline uses it', () => {
    const manifests = rendered.get('infra/k8s/overlays/sasl')!.manifests;
    const scaled = findManifest(manifests, 'ScaledObject', 'tangent');
    const auth = findManifest(manifests, 'TriggerAuthentication');
    expect(scaled.spec.triggers[0].authenticationRef).toEqual({ name: auth.metadata.name });
    expect(auth.metadata.namespace).toBe(scaled.metadata.namespace);
    const refs = auth.spec.secretTargetRef as { parameter: string; name: string; key: string }[];
    expect(refs.map((r) => r.parameter).sort()).toEqual(['ca', 'password', 'sasl', 'tls', 'username']);
    const secretNames = new Set(refs.map((r) => r.name));
    expect(secretNames.size).toBe(1);

    const deployment = findManifest(manifests, 'Deployment', 'tangent');
    const container = containerOf(deployment);
    const volume = deployment.spec.template.spec.volumes.find((v: any) => v.secret?.secretName === [...secretNames][0]);
    expect(volume, 'the Deployment mounts the same Secret').toBeDefined();
    const mount = container.volumeMounts.find((m: any) => m.name === volume.name);
    const files = Object.fromEntries(volume.secret.items.map((i: any) => [i.key, `${mount.mountPath}/${i.path}`]));
    const config = parsePipelineConfig(parseYaml(findManifest(manifests, 'ConfigMap').data!['pipeline.yaml']!), envOf(container));
    expect(config.kafka.sasl).toMatchObject({ mechanism: 'scram-sha-512', passwordFile: files.password });
    expect(config.kafka.ssl).toMatchObject({ enabled: true, caFile: files['ca.crt'] });
    // KEDA's sasl value for the same mechanism (its spelling: scram_sha512) is in the Secret, documented in the overlay.
    expect(readRepoFile('infra/k8s/overlays/sasl/kustomization.yaml')).toContain('--from-literal=sasl=scram_sha512');
  });

  it('strict schemas reject an unknown TriggerAuthentication parameter', () => {
    const copy = structuredClone(rendered.get('infra/k8s/overlays/sasl')!.manifests);
    findManifest(copy, 'TriggerAuthentication').spec.secretTargetRef[0].parameter = 'saslMechanism';
    const failed = strictValidate(copy, 'bad-triggerauthentication').filter((r) => !r.ok);
    expect(failed.length).toBeGreaterThan(0);
    expect(new Set(failed.map((r) => r.resource))).toEqual(new Set(['TriggerAuthentication/tangent-kafka']));
    expect(failed[0]!.error).toContain('saslMechanism');
  });
});

describe('the validators reject what they should (negative controls)', () => {
  function mutated(mutate: (manifests: Manifest[]) => void): Manifest[] {
    const copy = structuredClone(rendered.get('infra/k8s/base')!.manifests);
    mutate(copy);
    return copy;
  }

  it.each([
    ['a misspelt container field', (ms: Manifest[]) => { containerOf(findManifest(ms, 'Deployment')).readinesProbe = {}; }, 'Deployment', 'readinesProbe'],
    ['a string replica count', (ms: Manifest[]) => { findManifest(ms, 'Deployment').spec.replicas = 'three'; }, 'Deployment', 'replicas'],
    ['a misspelt ScaledObject field', (ms: Manifest[]) => { findManifest(ms, 'ScaledObject').spec.maxReplicasCount = 3; }, 'ScaledObject', 'maxReplicasCount'],
    ['a misspelt kafka trigger key', (ms: Manifest[]) => { findManifest(ms, 'ScaledObject').spec.triggers[0].metadata.lagTreshold = '10'; }, 'ScaledObject', 'lagTreshold'],
    ['a numeric trigger value', (ms: Manifest[]) => { findManifest(ms, 'ScaledObject').spec.triggers[0].metadata.lagThreshold = 5000; }, 'ScaledObject', 'lagThreshold'],
    ['a bad scrape interval', (ms: Manifest[]) => { findManifest(ms, 'ServiceMonitor').spec.endpoints[0].interval = '15 seconds'; }, 'ServiceMonitor', 'interval'],
  ])('strict schemas reject %s', (_label, mutate, kind, needle) => {
    const records = strictValidate(mutated(mutate), `bad-${kind}-${needle}`);
    const failed = records.filter((r) => !r.ok);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((r) => r.resource.startsWith(`${kind}/`))).toBe(true);
    expect(failed[0]!.error).toContain(needle);
  });

  it('kubernetes-models rejects missing required fields (container name, ScaledObject triggers)', () => {
    const noName = mutated((ms) => { delete containerOf(findManifest(ms, 'Deployment')).name; });
    expect(() => new Deployment(findManifest(noName, 'Deployment')).validate()).toThrow(/name/);
    const noTriggers = mutated((ms) => { delete findManifest(ms, 'ScaledObject').spec.triggers; });
    expect(() => new ScaledObject(findManifest(noTriggers, 'ScaledObject') as any).validate()).toThrow(/triggers/);
  });

  it('the kustomize found by scripts/deploy-tools.sh reports a version', () => {
    const kustomize = deployTool('kustomize');
    expect(run(kustomize, ['version']).trim()).not.toBe('');
  });
});

describe('README-level facts stay true', () => {
  it('docs/deploy.md names the overlay and the validation command', () => {
    const doc = readRepoFile('docs/deploy.md');
    expect(doc).toContain('infra/k8s/overlays/example');
    expect(doc).toContain('bash infra/k8s/validate.sh');
  });
});
