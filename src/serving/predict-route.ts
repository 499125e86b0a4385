import type { IncomingMessage, ServerResponse } from 'node:http';
import { validateRecordFields } from '../pipeline/decode-record.js';
import type { Query } from '../spec/example.js';
import type { PredictStatus } from '../metrics/metrics.js';
import type { ServedPredictions } from './model-snapshot.js';

export interface PredictRouteOptions {
  readonly inputDim: number;
  /** Bodies above this many bytes are refused with 413. */
  readonly maxRequestBytes: number;
  /** At most this many records per request (400 beyond). */
  readonly maxRequestRecords: number;
  /** Answers from the newest model snapshot (model-snapshot.ts). */
  predict(queries: readonly Query[]): ServedPredictions;
  /** Told about every answered request: its status and seconds from arrival to response. */
  observe?(status: PredictStatus, seconds: number): void;
}

class RequestError extends Error {
  constructor(
    readonly status: PredictStatus,
    readonly reason: string,
    message: string,
    readonly index?: number,
  ) {
    super(message);
  }
}

function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new RequestError('413', 'too_large', `body is ${declared} bytes, limit ${limit}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new RequestError('413', 'too_large', `body is over the limit of ${limit} bytes`));
        request.removeAllListeners('data');
        request.resume();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** The records of a request body: one `{task, x}` object, or an array of them. */
function parseQueries(body: Buffer, options: PredictRouteOptions, now: number): Query[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (error) {
    throw new RequestError('400', 'invalid_json', `body is not JSON: ${(error as Error).message}`);
  }
  const items = Array.isArray(parsed) ? parsed : [parsed];
  if (items.length === 0) throw new RequestError('400', 'empty', 'body is an empty array: send at least one {task, x}');
  if (items.length > options.maxRequestRecords) {
    throw new RequestError('400', 'too_many_records', `body has ${items.length} records, limit ${options.maxRequestRecords}`);
  }
  return items.map((item, index) => {
    const fields = validateRecordFields(item, options.inputDim, now);
    if (!fields.ok) throw new RequestError('400', fields.reason, fields.detail, index);
    return { task: fields.example.task, x: fields.example.x, ts: fields.example.ts };
  });
}

/**
 * `POST /predict`: both models' predictions for one record (`{task, x}`) or
 * many (`[{task, x}, ...]`), from the current model (docs/serving.md).
 * Records are validated by the same rules as the stream's; `y` and `ts` may
 * be present and are ignored. A request never teaches the model anything.
 */
export function predictRoute(options: PredictRouteOptions): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const started = performance.now();
    const answer = (status: PredictStatus, body: unknown, headers: Record<string, string> = {}): void => {
      response.writeHead(Number(status), { 'content-type': 'application/json', ...headers });
      response.end(`${JSON.stringify(body)}\n`);
      options.observe?.(status, (performance.now() - started) / 1000);
    };
    const fail = (error: unknown): void => {
      if (error instanceof RequestError) {
        answer(error.status, { error: error.reason, detail: error.message, ...(error.index === undefined ? {} : { index: error.index }) });
      } else {
        answer('500', { error: 'internal', detail: (error as Error).message });
      }
    };
    if (request.method !== 'POST') {
      request.resume();
      answer('405', { error: 'method_not_allowed', detail: 'use POST with a JSON body' }, { allow: 'POST' });
      return;
    }
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      request.resume();
      answer('415', { error: 'unsupported_media_type', detail: 'send the body as application/json' });
      return;
    }
    readBody(request, options.maxRequestBytes).then((body) => {
      const queries = parseQueries(body, options, Date.now());
      answer('200', options.predict(queries));
    }, fail).catch(fail);
  };
}
