import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function tangent(...args: string[]): { status: number | null; stderr: string; stdout: string } {
  return tangentWithInput('', ...args);
}

function tangentWithInput(input: string, ...args: string[]): { status: number | null; stderr: string; stdout: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { encoding: 'utf8', timeout: 60_000, input });
  return { status: result.status, stderr: result.stderr, stdout: result.stdout };
}

describe('tangent CLI', () => {
  it('fails at start with the bad field named and exit code 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tangent-cli-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'model:\n  activation: sigmoid\n');
    const result = tangent('run', '--pipeline', file);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('config field "model.activation"');
  });

  it('rejects a bad produce option by name', () => {
    const result = tangent('produce', '--malformed', '3');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--malformed');
  });

  it('prints usage for help and for an unknown command', () => {
    expect(tangent('--help').stdout).toContain('usage: tangent');
    const unknown = tangent('frobnicate');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });

  it('prints the analytic kernel of the pipeline model for points on stdin', () => {
    const x = Array.from({ length: 10 }, (_, i) => i / 10);
    const result = tangentWithInput(JSON.stringify([x, x.map((v) => -v)]), 'kernel', '--kind', 'nngp');
    expect(result.status).toBe(0);
    const { gram, kind } = JSON.parse(result.stdout) as { gram: number[][]; kind: string };
    expect(kind).toBe('nngp');
    expect(gram).toHaveLength(2);
    expect(gram[0]![1]).toBeCloseTo(gram[1]![0]!, 12);
    expect(gram[0]![0]).toBeGreaterThan(Math.abs(gram[0]![1]!));
  });

  it('names the bad point when a row has the wrong dimension', () => {
    const result = tangentWithInput('[[1, 2]]', 'kernel');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('input[0]');
  });
});
