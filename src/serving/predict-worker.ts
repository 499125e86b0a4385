/**
 * The serving thread: `POST /predict` on a listener of its own, answered from
 * the newest model snapshot the learning thread sent (model-snapshot.ts), so
 * a request never waits for a piece of learning on the other thread.
 * Started by serving-thread.ts; speaks to it only by messages.
 */
import { createServer } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import type { PredictStatus } from '../metrics/metrics.js';
import { PosteriorSolver } from '../ntk/gp-posterior.js';
import { predictFromSnapshot, type ModelSnapshot } from './model-snapshot.js';
import { predictRoute } from './predict-route.js';
import { applySnapshotUpdate, type SnapshotUpdate } from './snapshot-update.js';
import type { ServingThreadMessage, ServingWorkerOptions } from './serving-messages.js';

const options = workerData as ServingWorkerOptions;
const port = parentPort!;
let snapshot: ModelSnapshot | undefined;
/** Per task, the heap its GP factor is solved in (reloaded when a new snapshot brings a new factor). */
const solvers = new Map<string, PosteriorSolver>();
const send = (message: ServingThreadMessage): void => port.postMessage(message);

port.on('message', (update: SnapshotUpdate) => {
  snapshot = applySnapshotUpdate(snapshot, update);
  for (const task of solvers.keys()) if (!snapshot.tasks.has(task)) solvers.delete(task);
});

const route = predictRoute({
  inputDim: options.inputDim,
  maxRequestBytes: options.maxRequestBytes,
  maxRequestRecords: options.maxRequestRecords,
  predict: (queries) => (snapshot ? predictFromSnapshot(snapshot, queries, solvers) : { modelVersion: 0, predictions: queries.map((q) => ({ task: q.task, known: false, nn: null, ntkgp: null })) }),
  observe: (status: PredictStatus, seconds: number) => send({ type: 'observed', status, seconds }),
});

const server = createServer((request, response) => {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  if (path === '/predict') return route(request, response);
  request.resume();
  response.writeHead(404, { 'content-type': 'application/json' });
  response.end(`${JSON.stringify({ error: 'not_found', detail: 'this port serves POST /predict only' })}\n`);
});
server.keepAliveTimeout = 5_000;
server.once('error', (error: NodeJS.ErrnoException) => send({ type: 'failed', message: `${error.code ?? ''} ${error.message}`.trim() }));
server.listen(options.port, options.host, () => {
  const address = server.address();
  send({ type: 'listening', port: typeof address === 'object' && address ? address.port : options.port });
});
port.on('close', () => server.close());
