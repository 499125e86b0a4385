import type { Registry } from 'prom-client';

/** Values of one metric keyed by a label (or by '' when it has none). */
export type Keyed = Record<string, number>;

/**
 * One sample of what the live page draws, read from the metrics registry by
 * metric name, so a metric added later (η, by the learning code) shows up as
 * soon as it is registered.
 */
export interface LiveSample {
  /** Epoch milliseconds. */
  readonly t: number;
  /** tangent_prequential_mae by task, then model. */
  readonly mae: Record<string, Keyed>;
  /** tangent_drift_detections_total by task, then model (summed over detectors); cumulative. */
  readonly drifts: Record<string, Keyed>;
  /** tangent_records_total by result; cumulative. */
  readonly records: Keyed;
  /** tangent_dead_letters_total by reason; cumulative. */
  readonly deadLetters: Keyed;
  /** tangent_consumer_lag_records summed over partitions. */
  readonly lag: number;
  /** tangent_learning_rate by task ('' when not per task): the η in use. */
  readonly learningRate: Keyed;
  /** tangent_lr_stability_margin by task. */
  readonly margin: Keyed;
}

interface MetricValue {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
  readonly metricName?: string;
}

async function valuesOf(registry: Registry, name: string): Promise<readonly MetricValue[]> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return [];
  const { values } = await metric.get();
  return values as readonly MetricValue[];
}

function keyedBy(values: readonly MetricValue[], label: string): Keyed {
  const keyed: Keyed = {};
  for (const { labels, value } of values) {
    if (!Number.isFinite(value)) continue;
    const key = String(labels[label] ?? '');
    keyed[key] = (keyed[key] ?? 0) + value;
  }
  return keyed;
}

function nestedBy(values: readonly MetricValue[], outer: string, inner: string): Record<string, Keyed> {
  const nested: Record<string, Keyed> = {};
  for (const { labels, value } of values) {
    if (!Number.isFinite(value)) continue;
    const row = (nested[String(labels[outer] ?? '')] ??= {});
    const key = String(labels[inner] ?? '');
    row[key] = (row[key] ?? 0) + value;
  }
  return nested;
}

/** Reads one sample from the registry now. */
export async function sampleRegistry(registry: Registry, now = Date.now()): Promise<LiveSample> {
  const [mae, drifts, records, deadLetters, lag, learningRate, margin] = await Promise.all(
    [
      'tangent_prequential_mae',
      'tangent_drift_detections_total',
      'tangent_records_total',
      'tangent_dead_letters_total',
      'tangent_consumer_lag_records',
      'tangent_learning_rate',
      'tangent_lr_stability_margin',
    ].map((name) => valuesOf(registry, name)),
  );
  return {
    t: now,
    mae: nestedBy(mae!, 'task', 'model'),
    drifts: nestedBy(drifts!, 'task', 'model'),
    records: keyedBy(records!, 'result'),
    deadLetters: keyedBy(deadLetters!, 'reason'),
    lag: lag!.reduce((sum, v) => sum + v.value, 0),
    learningRate: keyedBy(learningRate!, 'task'),
    margin: keyedBy(margin!, 'task'),
  };
}

/**
 * The recent history behind the live page: a sample every `everyMs`, the last
 * `capacity` kept, so a page opened late still shows the curves so far.
 */
export class LiveHistory {
  private readonly samples: LiveSample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly everyMs = 1000,
    private readonly capacity = 3600,
  ) {}

  start(): this {
    if (this.timer !== undefined) return this;
    const take = (): void => {
      sampleRegistry(this.registry).then(
        (sample) => this.add(sample),
        () => undefined, // a failed collection leaves a gap; the next one fills in
      );
    };
    take();
    this.timer = setInterval(take, this.everyMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  add(sample: LiveSample): void {
    this.samples.push(sample);
    if (this.samples.length > this.capacity) this.samples.splice(0, this.samples.length - this.capacity);
  }

  /** Samples taken after `since` (epoch ms), oldest first. */
  since(since = 0): LiveSample[] {
    return this.samples.filter((s) => s.t > since);
  }
}
