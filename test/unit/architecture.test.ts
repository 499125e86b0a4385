import { fileURLToPath } from 'node:url';
import madge from 'madge';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../src/', import.meta.url));
const tsConfig = fileURLToPath(new URL('../../tsconfig.json', import.meta.url));

describe('the source tree', () => {
  it('has no import cycles (DESIGN §7: imports point down)', async () => {
    const graph = await madge(src, { fileExtensions: ['ts'], tsConfig });
    const cycles = graph.circular();
    expect(cycles, cycles.map((c) => c.join(' → ')).join('\n')).toEqual([]);
    // The graph is the real one: the app wiring reaches the pipeline, the models and Kafka.
    expect(graph.obj()['consumer-app.ts']).toEqual(expect.arrayContaining(['learning-session.ts', 'kafka/kafka-source.ts']));
  }, 60_000);
});
