import { readFileSync } from 'node:fs';
import { distance } from 'fastest-levenshtein';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { createDetector } from '../drift/create-detector.js';
import type { DetectorConfig } from '../drift/create-detector.js';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { detectorSchema, pipelineConfigSchema, type PipelineConfig } from './pipeline-config.js';

/**
 * Environment variables that override the file, for deployments that keep one
 * YAML and vary the endpoints. Each maps to one config path.
 */
const envOverrides = {
  KAFKA_BROKERS: 'kafka.brokers',
  TANGENT_TOPIC: 'kafka.topic',
  TANGENT_GROUP_ID: 'kafka.groupId',
  TANGENT_METRICS_PORT: 'metrics.port',
  TANGENT_METRICS_HOST: 'metrics.host',
  TANGENT_SERVING_PORT: 'serving.port',
  TANGENT_SERVING_HOST: 'serving.host',
  TANGENT_BACKEND: 'model.backend',
  TANGENT_INSTANCE_ID: 'checkpoint.instanceId',
} as const;

/** The schema as JSON Schema (the input side: what a file may hold), for `tangent config schema` and suggestions. */
export const pipelineJsonSchema = z.toJSONSchema(pipelineConfigSchema, { io: 'input', unrepresentable: 'any' });

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
  if (name === 'TANGENT_METRICS_PORT' || name === 'TANGENT_SERVING_PORT') {
    const port = Number(raw);
    if (!Number.isInteger(port)) throw new ConfigError(envOverrides[name], `env ${name}="${raw}" is not an integer`);
    return port;
  }
  return raw;
}

/** Every zod issue as a field and a message; an unknown key is named itself, not its parent. */
function issuesOf(error: z.ZodError): ConfigIssue[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: [...path, key].join('.'), message: `unknown field${suggestion(key, issue)}` }));
    }
    return [{ field: path.join('.') || '(root)', message: issue.message }];
  });
}

/** ", did you mean x?" when an unknown key is one edit or a transposition away from a known one. */
function suggestion(key: string, issue: z.core.$ZodIssueUnrecognizedKeys): string {
  const known = knownKeysAt(issue.path.map(String));
  const close = known.find((name) => distance(name, key) <= 2);
  return close === undefined ? '' : ` (did you mean "${close}"?)`;
}

function knownKeysAt(path: readonly string[]): string[] {
  let shape: z.core.JSONSchema.BaseSchema | undefined = pipelineJsonSchema;
  for (const key of path) {
    if (shape === undefined) return [];
    if (/^\d+$/.test(key)) {
      const items: z.core.JSONSchema.BaseSchema | undefined = shape.items as z.core.JSONSchema.BaseSchema | undefined;
      shape = items;
      continue;
    }
    shape = shape.properties?.[key] as z.core.JSONSchema.BaseSchema | undefined;
  }
  if (shape === undefined) return [];
  const variants = (shape.oneOf ?? shape.anyOf ?? [shape]) as z.core.JSONSchema.BaseSchema[];
  return variants.flatMap((variant) => Object.keys(variant.properties ?? {}));
}

/** Parameter ranges are each detector's own checks; run them on every detector whose shape is valid. */
function detectorRangeIssues(document: Record<string, unknown>): ConfigIssue[] {
  const detectors = (document.drift as { detectors?: unknown } | undefined)?.detectors;
  if (!Array.isArray(detectors)) return [];
  return detectors.flatMap((raw: unknown, i) => {
    const detector = detectorSchema.safeParse(raw);
    if (!detector.success) return [];
    try {
      createDetector(detector.data as DetectorConfig);
      return [];
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const field = `drift.detectors.${i}.${error.field.replace(`${detector.data.kind}.`, '')}`;
      return [{ field, message: error.message.replace(/^config field "[^"]*": /, '') }];
    }
  });
}

/** Validates an already-parsed document plus env overrides; throws ConfigError naming the field. */
export function parsePipelineConfig(document: unknown, env: Env = {}): PipelineConfig {
  if (document !== null && document !== undefined && (typeof document !== 'object' || Array.isArray(document))) {
    throw new ConfigError('(root)', 'the pipeline file must hold a mapping');
  }
  const merged: Record<string, unknown> = structuredClone((document ?? {}) as Record<string, unknown>);
  const issues: ConfigIssue[] = [];
  for (const [name, path] of Object.entries(envOverrides) as [keyof typeof envOverrides, string][]) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    try {
      setPath(merged, path, envValue(name, raw));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues.push(...error.issues);
    }
  }
  const result = pipelineConfigSchema.safeParse(merged);
  if (!result.success) issues.push(...issuesOf(result.error));
  issues.push(...detectorRangeIssues(merged));
  if (issues.length > 0 || !result.success) throw ConfigError.of(issues);
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
