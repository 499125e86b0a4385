import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { probeContainerRuntime } from '../integration/broker.js';

/**
 * The container runtime the container tests use: DOCKER_HOST when set, else what
 * infra/containers/setup.sh recorded (Podman's Docker-API socket on hosts without
 * Docker), else whatever testcontainers finds on its own. TANGENT_CONTAINER_TESTS:
 * `auto` (npm test) skips the container tests, saying why, when no runtime answers;
 * `required` (CI) fails instead.
 */
export type ContainerRuntime =
  | { readonly available: true; readonly description: string; readonly env: Readonly<Record<string, string>> }
  | { readonly available: false; readonly reason: string; readonly env: Readonly<Record<string, string>> };

export function runtimeEnvFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.TANGENT_CONTAINERS_ENV || join(env.TANGENT_CACHE || join(homedir(), '.cache', 'tangent'), 'containers', 'runtime.env');
}

/** KEY=value lines, comments and blank lines skipped. */
export function parseEnvFile(text: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) entries[match[1]!] = match[2]!;
  }
  return entries;
}

/** Sets what setup.sh recorded into process.env, never over a variable the user set. */
export function applyRuntimeEnv(entries: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(entries)) process.env[key] ??= value;
}

export async function prepareContainerRuntime(env: NodeJS.ProcessEnv = process.env): Promise<ContainerRuntime> {
  const mode = env.TANGENT_CONTAINER_TESTS || 'auto';
  if (!['auto', 'required'].includes(mode)) throw new Error(`TANGENT_CONTAINER_TESTS must be auto or required, got "${mode}"`);
  const file = runtimeEnvFile(env);
  const recorded = !env.DOCKER_HOST && existsSync(file) ? parseEnvFile(readFileSync(file, 'utf8')) : {};
  let result: ContainerRuntime;
  if (recorded.TANGENT_CONTAINERS_UNAVAILABLE) {
    result = { available: false, reason: `infra/containers/setup.sh found no runtime: ${recorded.TANGENT_CONTAINERS_UNAVAILABLE}`, env: {} };
  } else {
    applyRuntimeEnv(recorded);
    const probe = await probeContainerRuntime();
    result = probe.available
      ? { available: true, description: probe.description, env: recorded }
      : { available: false, reason: `${probe.reason}${existsSync(file) ? '' : ' (bash infra/containers/setup.sh sets one up)'}`, env: {} };
  }
  if (!result.available && mode === 'required') throw new Error(`TANGENT_CONTAINER_TESTS=required, but ${result.reason}`);
  return result;
}
