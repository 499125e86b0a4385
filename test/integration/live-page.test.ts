import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterTopicOf } from '../../src/config/pipeline-config.js';
import { startConsumer, type RunningConsumer } from '../../src/consumer-app.js';
import { defaultFriedmanOptions } from '../../src/demo/friedman.js';
import { produceRecords } from '../../src/demo/produce.js';
import { syntheticRecords } from '../../src/demo/record-sources.js';
import { ensureTopics } from '../../src/kafka/topics.js';
import { quietLogger, testConfig, testKafka, uniqueName, waitFor } from './kafka-helpers.js';

/** Debian's chromium (`apt-get install chromium`; .ci/run installs it), or CHROMIUM_PATH. */
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Per chart: how many non-null points each series has (series 0 is time). */
type SeriesCounts = Record<string, number[]>;

async function seriesCounts(page: Page): Promise<SeriesCounts> {
  return page.evaluate(() => {
    const live = (globalThis as unknown as { tangentLive: { charts: Record<string, { data: (number | null)[][] }> } }).tangentLive;
    return Object.fromEntries(Object.entries(live.charts).map(([id, chart]) => [id, chart.data.map((s) => s.filter((v) => v !== null && v !== undefined).length)]));
  });
}

/** Pixels of a chart's canvas that are not background: the curves were actually drawn. */
async function drawnPixels(page: Page, id: string): Promise<number> {
  return page.evaluate((chartId) => {
    // Browser types, declared here: the test code is compiled without the DOM library.
    interface Canvas {
      width: number;
      height: number;
      getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
    }
    const live = (globalThis as unknown as { tangentLive: { charts: Record<string, { root: { querySelector(s: string): Canvas } }> } }).tangentLive;
    const canvas = live.charts[chartId]!.root.querySelector('canvas');
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let coloured = 0;
    for (let i = 0; i < data.length; i += 4) {
      const [r, g, b, a] = [data[i]!, data[i + 1]!, data[i + 2]!, data[i + 3]!];
      // Curves are saturated colours; the grid and axes are grey (r ≈ g ≈ b).
      if (a > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured += 1;
    }
    return coloured;
  }, id);
}

describe('the live page in a real headless browser, on a running consumer', () => {
  let consumer: RunningConsumer | undefined;
  let browser: Browser | undefined;
  const producing = new AbortController();
  let produced: Promise<unknown> = Promise.resolve();

  beforeAll(async () => {
    expect(existsSync(chromiumPath), `no chromium at ${chromiumPath}: apt-get install chromium (or set CHROMIUM_PATH)`).toBe(true);
    const topic = uniqueName('live-page');
    const config = testConfig(topic, { ntkgp: { marginEvery: 2 } });
    await ensureTopics(testKafka(), [topic, deadLetterTopicOf(config.kafka)], 3);
    consumer = await startConsumer(config, quietLogger);
    // A steady stream with malformed records and an abrupt drift early on, so detections happen while the page watches.
    produced = produceRecords(
      testKafka(),
      syntheticRecords(Number.MAX_SAFE_INTEGER, {
        friedman: { ...defaultFriedmanOptions, drift: 'abrupt', driftPositions: [3000, 1_000_000], seed: 5 },
        malformedFraction: 0.05,
        maxRecordBytes: config.kafka.maxRecordBytes,
      }),
      { topic, rate: 800, signal: producing.signal },
    );
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  }, 120_000);

  afterAll(async () => {
    producing.abort();
    await produced.catch(() => undefined);
    await browser?.close();
    await consumer?.stop();
  });

  it('loads, draws non-empty series per task (nn and NTK-GP, drift marks), throughput, dead letters and the margin, and updates them', async () => {
    const page = await browser!.newPage({ viewport: { width: 1400, height: 1100 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    const external: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(`http://127.0.0.1:${consumer!.metricsAddress.port}/`)) external.push(request.url());
    });
    await page.goto(`http://127.0.0.1:${consumer!.metricsAddress.port}/`);
    expect(await page.title()).toBe('tangent · live');

    const taskCharts = (counts: SeriesCounts): string[] => Object.keys(counts).filter((id) => id.startsWith('task:'));
    await waitFor(
      async () => {
        const counts = await seriesCounts(page);
        const tasks = taskCharts(counts);
        return tasks.length === 3 && tasks.every((id) => counts[id]![1]! >= 3 && counts[id]![2]! >= 3) && (counts.stability?.[1] ?? 0) >= 1;
      },
      120_000,
      'three task charts with both models drawn, and a stability margin',
    );
    await waitFor(
      async () => {
        const counts = await seriesCounts(page);
        return taskCharts(counts).some((id) => counts[id]![3]! + counts[id]![4]! > 0);
      },
      120_000,
      'a drift detection marked on an error curve',
    );
    const first = await seriesCounts(page);
    const firstLearned = Number((await page.textContent('#learned'))!.replace(/,/g, ''));
    await page.waitForTimeout(4000);
    const later = await seriesCounts(page);
    const laterLearned = Number((await page.textContent('#learned'))!.replace(/,/g, ''));

    const screenshot = join('test-results', 'live-page.png');
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    const pixels = await drawnPixels(page, taskCharts(later)[0]!);
    console.log(`[live-page] series points per chart: ${JSON.stringify(later)}`);
    console.log(`[live-page] learned ${firstLearned} → ${laterLearned} in 4 s; ${pixels} coloured pixels on ${taskCharts(later)[0]}; screenshot ${screenshot}`);

    for (const id of taskCharts(later)) {
      expect(later[id]![1]!, `${id} nn`).toBeGreaterThan(first[id]![1]!);
      expect(later[id]![2]!, `${id} ntkgp`).toBeGreaterThan(first[id]![2]!);
    }
    // Throughput: learned/s and lag have points; dead letters by reason (5% malformed) too.
    expect(later.throughput![1]!).toBeGreaterThan(first.throughput![1]!);
    expect(later.deadletters!.slice(1).some((n) => n > 0)).toBe(true);
    expect(laterLearned).toBeGreaterThan(firstLearned);
    expect(pixels).toBeGreaterThan(200);
    expect(pageErrors).toEqual([]);
    expect(external).toEqual([]);
  }, 300_000);
});
