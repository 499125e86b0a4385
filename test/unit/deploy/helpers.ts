import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export function repoPath(...parts: string[]): string {
  return join(repoRoot, ...parts);
}

export function readRepoFile(...parts: string[]): string {
  return readFileSync(repoPath(...parts), 'utf8');
}

export function repoPathExists(...parts: string[]): boolean {
  return existsSync(repoPath(...parts));
}

/** Runs a command, returning stdout; on failure the error carries stdout and stderr. */
export function run(command: string, args: string[], options: ExecFileSyncOptions = {}): string {
  try {
    return execFileSync(command, args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, ...options }) as string;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${e.message}\n--- stdout\n${e.stdout ?? ''}\n--- stderr\n${e.stderr ?? ''}`);
  }
}

/** A checker from scripts/deploy-tools.sh (installed from a package registry on first use). */
export function deployTool(name: 'python' | 'hadolint' | 'kustomize' | 'compose'): string {
  return run('bash', [repoPath('scripts/deploy-tools.sh'), name], { stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
};

export function parseYamlDocuments<T = unknown>(text: string): T[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`YAML error: ${doc.errors[0]!.message}`);
      return doc.toJS() as T;
    })
    .filter((doc) => doc !== null && doc !== undefined);
}

/** `kustomize build DIR` (infra/k8s/...), parsed. */
export function renderKustomization(dir: string): { text: string; manifests: Manifest[] } {
  const text = run(deployTool('kustomize'), ['build', repoPath(dir)]);
  return { text, manifests: parseYamlDocuments<Manifest>(text) };
}

export function findManifest(manifests: readonly Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.find((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (!found) throw new Error(`no ${kind}${name ? `/${name}` : ''} among ${manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(', ')}`);
  return found;
}
