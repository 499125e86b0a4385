/**
 * One base error for the whole product. `retriable` tells the caller whether
 * trying again can help (a broker hiccup) or not (a bad config).
 */
export class TangentError extends Error {
  readonly retriable: boolean;

  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** What an error says, whatever was thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One bad field of a pipeline configuration. */
export interface ConfigIssue {
  readonly field: string;
  readonly message: string;
}

/**
 * A pipeline configuration that cannot run; `field` names the (first)
 * offending path, `issues` lists every bad field, one line each in `message`.
 */
export class ConfigError extends TangentError {
  readonly issues: readonly ConfigIssue[];

  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`config field "${field}": ${message}`);
    this.issues = [{ field, message }];
  }

  /** All the bad fields at once (at least one). */
  static of(issues: readonly ConfigIssue[]): ConfigError {
    const [first, ...rest] = issues;
    const error = new ConfigError(first!.field, first!.message);
    if (rest.length === 0) return error;
    error.message = issues.map((issue) => `config field "${issue.field}": ${issue.message}`).join('\n');
    (error as { issues: readonly ConfigIssue[] }).issues = issues;
    return error;
  }
}

/** A Kafka operation failed; carries the coordinates when known. */
export class KafkaError extends TangentError {
  constructor(
    message: string,
    readonly context: { topic?: string; partition?: number; offset?: string } = {},
    options: { retriable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/** A model artifact or state that does not fit the configured architecture. */
export class ModelError extends TangentError {}

/** A command line or environment that cannot be acted on (bad flag value, unknown log level). */
export class UsageError extends TangentError {}
