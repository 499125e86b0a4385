import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/commands/program.js';

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

  it('rejects a bad flag value by the flag\'s name, in one line, with exit code 2', () => {
    const result = tangent('produce', '--malformed', '3');
    expect(result.status).toBe(2);
    expect(result.stderr).toBe("tangent: option '--malformed <f>' argument '3' is invalid. expected a fraction between 0 and 1.\n");
  });

  it.each([
    [['produce', '--bogus'], "unknown option '--bogus'"],
    [['run', '--pipelin', 'x.yaml'], "unknown option '--pipelin' (Did you mean --pipeline?)"],
    [['doctor', 'bogus'], "too many arguments for 'doctor'"],
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['pretrain', '--input', 'topic:x'], "required option '-o, --out <dir>' not specified"],
    [['pretrain', '--input', 'topic:x', '--out', '/tmp/x', '--epochs', '0'], "option '--epochs <n>' argument '0' is invalid"],
  ])('exits 2 on the usage error %j with a one-line message', (args, message) => {
    const result = tangent(...args);
    expect(result.status).toBe(2);
    expect(result.stderr.split('\n')[0]).toContain(`tangent: ${message}`);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('prints its version, and help for every command with exit code 0', () => {
    const version = tangent('--version');
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
    const help = tangent('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Exit codes: 0 ok · 1 runtime failure');
  });

  it('has --help and -h on every command', async () => {
    const commands = buildProgram().commands.map((c) => c.name());
    expect(commands).toEqual(expect.arrayContaining(['run', 'demo', 'produce', 'pretrain', 'kernel', 'doctor', 'config']));
    for (const command of commands.filter((c) => c !== 'help')) {
      for (const flag of ['--help', '-h']) {
        let printed = '';
        const program = buildProgram().configureOutput({ writeOut: (text) => (printed += text) });
        program.commands.forEach((c) => c.configureOutput({ writeOut: (text) => (printed += text) }));
        const error = await program.parseAsync([command, flag], { from: 'user' }).then(
          () => undefined,
          (e: unknown) => e as CommanderError,
        );
        expect(error?.code, `${command} ${flag}`).toBe('commander.helpDisplayed');
        expect(error?.exitCode).toBe(0);
        expect(printed, command).toContain(`Usage: tangent ${command} `);
      }
    }
  });

  it('refuses an unknown log level by name before doing anything', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'run'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, TANGENT_LOG_LEVEL: 'verbose' },
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('tangent: TANGENT_LOG_LEVEL="verbose" is not a log level: use one of trace, debug, info, warn, error, fatal, silent\n');
  });

  it('prints the pipeline file\'s JSON Schema', () => {
    const result = tangent('config', 'schema');
    expect(result.status).toBe(0);
    const schema = JSON.parse(result.stdout) as { $schema: string; properties: Record<string, { properties?: Record<string, unknown> }> };
    expect(schema.$schema).toContain('json-schema.org');
    expect(Object.keys(schema.properties.kafka!.properties!)).toContain('brokers');
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
