import { fileURLToPath } from 'node:url';
import madge from 'madge';
import { beforeAll, describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../src/', import.meta.url));
const tsConfig = fileURLToPath(new URL('../../tsconfig.json', import.meta.url));

/**
 * DESIGN §7's layers, top to bottom: the commands, the app wiring, the parts it
 * connects (pipeline stages, Kafka, metrics, checkpoints, serving), the config,
 * the models and drift detectors, the math, and the shared spec and errors.
 * A file may import its own layer or any below it.
 */
const layerOf = (file: string): number => {
  const top = file.includes('/') ? file.slice(0, file.indexOf('/')) : file.replace(/\.ts$/, '');
  const layers: Record<string, number> = {
    cli: 7, commands: 7,
    demo: 6, 'consumer-app': 6, app: 6,
    'learning-session': 5,
    pipeline: 4, kafka: 4, metrics: 4, checkpoint: 4, serving: 4,
    config: 3,
    model: 2, drift: 2,
    ntk: 1, math: 1,
    spec: 0, errors: 0, logger: 0, version: 0, 'worker-thread': 0,
  };
  const layer = layers[top];
  if (layer === undefined) throw new Error(`${file}: no layer for "${top}" (add it to DESIGN §7 and here)`);
  return layer;
};

describe('the source tree', () => {
  let graph: Awaited<ReturnType<typeof madge>>;
  beforeAll(async () => {
    graph = await madge(src, { fileExtensions: ['ts'], tsConfig });
  }, 60_000);

  it('has no import cycles (DESIGN §7: imports point down)', () => {
    const cycles = graph.circular();
    expect(cycles, cycles.map((c) => c.join(' → ')).join('\n')).toEqual([]);
    // The graph is the real one: the app wiring reaches the pipeline, the models and Kafka.
    expect(graph.obj()['consumer-app.ts']).toEqual(expect.arrayContaining(['learning-session.ts', 'kafka/kafka-source.ts']));
  });

  it('imports only its own layer or the layers below it', () => {
    const upward = Object.entries(graph.obj()).flatMap(([file, imports]) =>
      imports.filter((imported) => layerOf(imported) > layerOf(file)).map((imported) => `${file} → ${imported}`),
    );
    expect(upward).toEqual([]);
    expect(Object.keys(graph.obj()).length).toBeGreaterThan(100);
  });
});
