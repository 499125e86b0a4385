import { createDetector, restoreDetector } from '../drift/create-detector.js';
import type { DetectorConfig, DetectorState, ShippedDetector } from '../drift/create-detector.js';
import type { DetectorKind } from '../drift/drift-detector.js';
import type { ModelName } from '../model/online-model.js';
import type { BatchObserver } from './observe.js';
import type { LearnedBatch } from './records.js';

/** One detection, as logged and published to the events topic. */
export interface DriftEvent {
  readonly type: 'drift';
  readonly task: string;
  readonly model: ModelName;
  readonly detector: DetectorKind;
  /** The record whose error completed the detection. */
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** Records of this (task, model) seen by the detector since it started. */
  readonly recordsSeen: number;
  readonly detectedAt: string;
}

export interface DriftWatchState {
  readonly streams: { task: string; model: ModelName; recordsSeen: number; detectors: DetectorState[] }[];
}

interface Stream {
  recordsSeen: number;
  readonly detectors: ShippedDetector[];
}

/**
 * Runs the configured detectors on every (task, model) prequential
 * absolute-error stream, record by record, and hands each batch's
 * detections to `onDrift` (metrics, log, events topic, fine-tuning).
 */
export class DriftWatch implements BatchObserver {
  private readonly streams = new Map<string, Stream & { task: string; model: ModelName }>();

  constructor(
    private readonly detectorConfigs: readonly DetectorConfig[],
    private readonly models: readonly ModelName[],
    private readonly onDrift: (events: readonly DriftEvent[]) => void,
    saved?: DriftWatchState,
  ) {
    for (const s of saved?.streams ?? []) {
      this.streams.set(`${s.model}\u0000${s.task}`, {
        task: s.task,
        model: s.model,
        recordsSeen: s.recordsSeen,
        detectors: s.detectors.map((d) => restoreDetector(d)),
      });
    }
  }

  private stream(task: string, model: ModelName): Stream {
    const key = `${model}\u0000${task}`;
    let stream = this.streams.get(key);
    if (!stream) {
      stream = { task, model, recordsSeen: 0, detectors: this.detectorConfigs.map((c) => createDetector(c)) };
      this.streams.set(key, stream);
    }
    return stream;
  }

  observe(batch: LearnedBatch): void {
    const events: DriftEvent[] = [];
    for (const { model, predictions } of batch.scores) {
      if (!this.models.includes(model)) continue;
      batch.accepted.forEach(({ example, source }, i) => {
        const error = Math.abs(predictions[i]! - example.y);
        if (!Number.isFinite(error)) return;
        const stream = this.stream(example.task, model);
        stream.recordsSeen += 1;
        for (const detector of stream.detectors) {
          if (!detector.update(error).drift) continue;
          events.push({
            type: 'drift',
            task: example.task,
            model,
            detector: detector.name,
            topic: source.topic,
            partition: source.partition,
            offset: source.offset,
            recordsSeen: stream.recordsSeen,
            detectedAt: new Date().toISOString(),
          });
        }
      });
    }
    if (events.length > 0) this.onDrift(events);
  }

  /** The detector streams of one task (both models), as saved state. */
  taskState(task: string): DriftWatchState {
    return { streams: this.toJSON().streams.filter((s) => s.task === task) };
  }

  /** Replaces the task's detector streams with saved ones. */
  loadTask(task: string, saved: DriftWatchState): void {
    this.forgetTask(task);
    for (const s of saved.streams) {
      if (s.task !== task) continue;
      this.streams.set(`${s.model}\u0000${s.task}`, { task, model: s.model, recordsSeen: s.recordsSeen, detectors: s.detectors.map((d) => restoreDetector(d)) });
    }
  }

  forgetTask(task: string): void {
    for (const [key, s] of this.streams) if (s.task === task) this.streams.delete(key);
  }

  toJSON(): DriftWatchState {
    return {
      streams: [...this.streams.values()].map((s) => ({
        task: s.task,
        model: s.model,
        recordsSeen: s.recordsSeen,
        detectors: s.detectors.map((d) => d.toJSON()),
      })),
    };
  }
}
