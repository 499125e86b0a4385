import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { createDetector } from '../drift/create-detector.js';
import type { DetectorConfig } from '../drift/drift-detector.js';
import { ConfigError } from '../errors.js';
import { pipelineConfigSchema, type PipelineConfig } from './pipeline-config.js';

/**
 * Environment variables that override the file, for deployments that keep one
 * YAML and vary the endpoints. Each maps to one config path.
 */
export const envOverrides = {
  KAFKA_BROKERS: 'kafka.brokers',
  TANGENT_TOPIC: 'kafka.topic',
  TANGENT_GROUP_ID: 'kafka.groupId',
  TANGENT_METRICS_PORT: 'metrics.port',
  TANGENT_METRICS_HOST: 'metrics.host',
  TANGENT_BACKEND: 'model.backend',
  TANGENT_INSTANCE_ID: 'checkpoint.instanceId',
} as const;

type Env = Readonly<Record<string, string | undefined>>;

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const child = node[key];
    if (typeof child !== 'object' || child === null || Array.isArray(child)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function envValue(name: keyof typeof envOverrides, raw: string): unknown {
  if (name === 'KAFKA_BROKERS') return raw.split(',').map((b) => b.trim()).filter(Boolean);
  if (name === 'TANGENT_METRICS_PORT') {
    const port = Number(raw);
    if (!Number.isInteger(port)) throw new ConfigError('metrics.port', `env ${name}="${raw}" is not an integer`);
    return port;
  }
  return raw;
}

function firstIssue(error: z.ZodError): ConfigError {
  const issue = error.issues[0]!;
  const path = issue.path.map(String);
  // zod reports an unknown key on its parent; naming the key itself is what helps.
  if (issue.code === 'unrecognized_keys') path.push(issue.keys[0]!);
  return new ConfigError(path.join('.') || '(root)', issue.message);
}

/** Validates an already-parsed document plus env overrides; throws ConfigError naming the field. */
export function parsePipelineConfig(document: unknown, env: Env = {}): PipelineConfig {
  if (document !== null && document !== undefined && (typeof document !== 'object' || Array.isArray(document))) {
    throw new ConfigError('(root)', 'the pipeline file must hold a mapping');
  }
  const merged: Record<string, unknown> = structuredClone((document ?? {}) as Record<string, unknown>);
  for (const [name, path] of Object.entries(envOverrides) as [keyof typeof envOverrides, string][]) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') setPath(merged, path, envValue(name, raw));
  }
  const result = pipelineConfigSchema.safeParse(merged);
  if (!result.success) throw firstIssue(result.error);
  result.data.drift.detectors.forEach((detector, i) => {
    try {
      createDetector(detector as DetectorConfig);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new ConfigError(`drift.detectors.${i}.${error.field.replace(`${detector.kind}.`, '')}`, error.message.replace(/^config field "[^"]*": /, ''));
    }
  });
  return result.data;
}

/** Reads a pipeline YAML file (or the defaults when no file is given). */
export function loadPipelineConfig(file: string | undefined, env: Env = process.env): PipelineConfig {
  if (file === undefined) return parsePipelineConfig({}, env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError('(file)', `cannot read pipeline file ${file}: ${(cause as Error).message}`);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (cause) {
    throw new ConfigError('(file)', `pipeline file ${file} is not valid YAML: ${(cause as Error).message}`);
  }
  return parsePipelineConfig(document, env);
}
