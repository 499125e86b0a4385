import type { Logger } from 'pino';
import type { Producer } from 'kafkajs';
import { OrderedSends } from '../kafka/ordered-sends.js';
import type { TangentMetrics } from '../metrics/metrics.js';
import type { DriftEvent } from '../pipeline/drift-watch.js';

export interface DriftReactionParts {
  readonly metrics: TangentMetrics;
  readonly logger: Logger;
  readonly producer: Producer;
  /** `<topic>.events` */
  readonly topic: string;
  /** Asked to fine-tune after a detection (`drift.fineTuneOnDrift`); absent when off. */
  readonly fineTune?: (events: readonly DriftEvent[]) => void;
}

/**
 * What a drift detection sets off: counted, logged, a fine-tuning phase asked for, and published to
 * the events topic. Events are informational: published in order, off the hot path; a failed send is
 * logged, not fatal.
 */
export class DriftReaction {
  private readonly sends: OrderedSends;

  constructor(private readonly parts: DriftReactionParts) {
    this.sends = new OrderedSends(parts.topic, parts.logger, 'cannot publish drift events');
  }

  readonly react = (events: readonly DriftEvent[]): void => {
    const { metrics, logger, producer, topic, fineTune } = this.parts;
    for (const event of events) {
      metrics.driftDetections.inc({ task: event.task, model: event.model, detector: event.detector });
      logger.info(event, 'drift detected');
    }
    fineTune?.(events);
    this.sends.send(() => producer.send({ topic, messages: events.map((e) => ({ key: e.task, value: JSON.stringify(e) })) }));
  };

  /** Resolves once every event so far is published (or its failure logged). */
  published(): Promise<unknown> {
    return this.sends.settled();
  }
}
