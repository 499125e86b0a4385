import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';

/**
 * Records the native kernels a computation runs on tfjs-node's backend as a
 * TensorFlow graph (a SavedModel's bytes), so that later runs of the same
 * computation are one call into TensorFlow instead of one per kernel
 * (compiled-steps.ts). Each recorded node is the very op, with the very
 * attributes, that tfjs-node handed to TensorFlow's eager runtime, so the graph
 * computes the same numbers; compiled-steps.ts checks that it does (a graph's
 * AddN, for one, may add its inputs in another order).
 *
 * Hand-written because no library does this: tfjs' own graph models go the
 * other way (a TensorFlow graph run kernel by kernel), and the SavedModel
 * messages come from the protobuf classes tfjs-node itself reads SavedModels with.
 */

/** What tfjs-node's binding says about a tensor it holds. */
interface TensorMetadata {
  readonly id: number;
  readonly shape: number[];
  readonly dtype: number;
}

/** An op attribute as tfjs-node's kernels pass it to the binding. */
interface OpAttr {
  readonly name: string;
  readonly type: number;
  readonly value: unknown;
}

/** The part of tfjs-node's native binding a trace goes through. */
export interface NativeBinding {
  executeOp(op: string, attrs: OpAttr[], inputIds: number[], outputs: number): TensorMetadata[];
  createTensor(shape: number[], dtype: number, values: unknown): number;
  tensorDataSync(id: number): ArrayBufferView;
  loadSavedModel(path: string, tags: string): number;
  deleteSavedModel(id: number): void;
  readonly TF_FLOAT: number;
  readonly TF_INT32: number;
  readonly TF_BOOL: number;
  readonly TF_ATTR_STRING: number;
  readonly TF_ATTR_INT: number;
  readonly TF_ATTR_FLOAT: number;
  readonly TF_ATTR_BOOL: number;
  readonly TF_ATTR_TYPE: number;
}

/** tfjs-node's backend, as far as traces and compiled runs use it. */
export interface NativeBackend {
  binding: NativeBinding;
  readonly tensorMap: { get(dataId: object): { id: number } };
  getInputTensorIds(tensors: tf.Tensor[]): number[];
  runSavedModel(session: number, inputs: tf.Tensor[], inputInfos: { name: string }[], outputNames: string[]): tf.Tensor[];
}

/** The backend when it is tfjs-node's (the only one that runs TensorFlow graphs), else undefined. */
export function nativeBackend(): NativeBackend | undefined {
  if (tf.getBackend() !== 'tensorflow') return undefined;
  const backend = tf.backend() as unknown as Partial<NativeBackend>;
  return typeof backend.runSavedModel === 'function' && backend.binding ? (backend as NativeBackend) : undefined;
}

export type NamedTensors = Record<string, tf.Tensor>;

export interface KernelTrace {
  /** A SavedModel (`saved_model.pb`) holding the graph under the tag `serve`. */
  readonly savedModel: Uint8Array;
  /** Each input's graph tensor (`<node>:0`), in the order of the inputs given. */
  readonly inputNames: Record<string, string>;
  /** Each output's graph tensor, in the order of the outputs the computation returned. */
  readonly outputNames: Record<string, string>;
  /** What the computation returned, run as it was recorded. */
  readonly result: NamedTensors;
}

/** Thrown when a computation cannot become a graph; it has run, and its result is `result`. */
export class UntraceableError extends Error {
  constructor(
    message: string,
    readonly result: NamedTensors | undefined,
  ) {
    super(message);
  }
}

// The protobuf classes tfjs-node reads SavedModels with (google-protobuf, generated, untyped): used only inside this file.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- no types ship with them
type Proto = any;
let protos: Proto | undefined;
function tensorflowProtos(): Proto {
  protos ??= createRequire(import.meta.url)('@tensorflow/tfjs-node/dist/proto/api_pb.js') as Proto;
  return protos;
}

/** The GraphDef version the nodes are written for (TensorFlow 2.16's producer version is 1766). */
const graphProducerVersion = 1766;

/**
 * Runs `compute` once, eagerly, and records every kernel it runs as a graph
 * node. `inputs` become the graph's placeholders (fed on every run);
 * `constants`, and tensors the computation uploads itself (shapes, axes,
 * scalars), are written into the graph as they are now: the caller must key
 * its graphs by everything those depend on. Any other tensor made before the
 * trace is an error: its value could change between runs unseen.
 */
export function traceKernels(backend: NativeBackend, inputs: NamedTensors, constants: readonly tf.Tensor[], compute: () => NamedTensors): KernelTrace {
  const P = tensorflowProtos();
  const binding = backend.binding;
  const graph = new P.GraphDef();
  const versions = new P.VersionDef();
  versions.setProducer(graphProducerVersion);
  graph.setVersions(versions);
  /** Binding tensor id → the graph tensor that holds it (`node` for a node's first output, `node:k` for others). */
  const graphTensor = new Map<number, string>();
  /** The graph tensors kernels of the trace computed (what outputs may be). */
  const computed = new Set<string>();
  /** Binding tensor id → shape and dtype, for tensors that may become constants. */
  const known = new Map<number, { shape: number[]; dtype: number }>();
  let nodes = 0;

  const shapeOf = (shape: readonly number[]): Proto => {
    const proto = new P.TensorShape();
    for (const size of shape) {
      const dim = new P.TensorShape.Dim();
      dim.setSize(size);
      proto.addDim(dim);
    }
    return proto;
  };
  const typeAttr = (dtype: number): Proto => {
    const attr = new P.AttrValue();
    attr.setType(dtype);
    return attr;
  };
  const attrOf = ({ name, type, value }: OpAttr): Proto => {
    const attr = new P.AttrValue();
    const list = Array.isArray(value) ? new P.AttrValue.ListValue() : undefined;
    if (type === binding.TF_ATTR_TYPE && !list) attr.setType(value as number);
    else if (type === binding.TF_ATTR_BOOL && !list) attr.setB(value as boolean);
    else if (type === binding.TF_ATTR_INT && !list) attr.setI(value as number);
    else if (type === binding.TF_ATTR_FLOAT && !list) attr.setF(value as number);
    else if (type === binding.TF_ATTR_STRING && !list) attr.setS(Buffer.from(value as string));
    else if (type === binding.TF_ATTR_INT && list) {
      for (const item of value as number[]) list.addI(item);
      attr.setList(list);
    } else throw new Error(`attribute "${name}" of type ${type}${list ? ' (a list)' : ''} has no graph form here`);
    return attr;
  };
  const addNode = (op: string, attrs: readonly (readonly [string, Proto])[], nodeInputs: readonly string[]): string => {
    const node = new P.NodeDef();
    const name = `${op}_${nodes++}`;
    node.setName(name);
    node.setOp(op);
    for (const input of nodeInputs) node.addInput(input);
    for (const [key, value] of attrs) node.getAttrMap().set(key, value);
    graph.addNode(node);
    return name;
  };
  const constant = (id: number): string => {
    const meta = known.get(id);
    if (!meta) throw new Error(`kernel input ${id} was made before the trace and is neither an input nor a constant`);
    const data = binding.tensorDataSync(id);
    const tensor = new P.Tensor();
    tensor.setDtype(meta.dtype);
    tensor.setTensorShape(shapeOf(meta.shape));
    tensor.setTensorContent(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    const value = new P.AttrValue();
    value.setTensor(tensor);
    const name = addNode('Const', [['dtype', typeAttr(meta.dtype)], ['value', value]], []);
    graphTensor.set(id, name);
    return name;
  };
  const dtypeOf = (tensor: tf.Tensor): number => {
    if (tensor.dtype === 'float32') return binding.TF_FLOAT;
    if (tensor.dtype === 'int32') return binding.TF_INT32;
    if (tensor.dtype === 'bool') return binding.TF_BOOL;
    throw new Error(`a ${tensor.dtype} tensor has no graph form here`);
  };

  const inputNames: Record<string, string> = {};
  for (const [key, tensor] of Object.entries(inputs)) {
    const shape = new P.AttrValue();
    shape.setShape(shapeOf(tensor.shape));
    const name = addNode('Placeholder', [['dtype', typeAttr(dtypeOf(tensor))], ['shape', shape]], []);
    graphTensor.set(backend.getInputTensorIds([tensor])[0]!, name);
    inputNames[key] = `${name}:0`;
  }
  for (const tensor of constants) {
    known.set(backend.getInputTensorIds([tensor])[0]!, { shape: [...tensor.shape], dtype: dtypeOf(tensor) });
  }

  let failure: Error | undefined;
  const recording = Object.create(binding) as NativeBinding;
  Object.defineProperty(recording, 'createTensor', {
    value: (shape: number[], dtype: number, values: unknown): number => {
      const id = binding.createTensor(shape, dtype, values);
      known.set(id, { shape, dtype });
      return id;
    },
  });
  Object.defineProperty(recording, 'executeOp', {
    value: (op: string, attrs: OpAttr[], inputIds: number[], outputs: number): TensorMetadata[] => {
      const result = binding.executeOp(op, attrs, inputIds, outputs);
      if (failure) return result;
      try {
        const name = addNode(
          op,
          attrs.map((attr) => [attr.name, attrOf(attr)] as const),
          inputIds.map((id) => graphTensor.get(id) ?? constant(id)),
        );
        result.forEach((output, k) => {
          const tensorName = k === 0 ? name : `${name}:${k}`;
          graphTensor.set(output.id, tensorName);
          computed.add(tensorName);
          known.set(output.id, { shape: output.shape, dtype: output.dtype });
        });
      } catch (error) {
        failure = error as Error;
      }
      return result;
    },
  });

  backend.binding = recording;
  let result: NamedTensors;
  try {
    result = compute();
  } finally {
    backend.binding = binding;
  }
  if (failure) throw new UntraceableError(failure.message, result);
  const outputNames: Record<string, string> = {};
  for (const [key, tensor] of Object.entries(result)) {
    const source = graphTensor.get(backend.tensorMap.get(tensor.dataId).id);
    if (source === undefined || !computed.has(source)) throw new UntraceableError(`output "${key}" is not computed by a kernel of the trace`, result);
    outputNames[key] = source.includes(':') ? source : `${source}:0`;
  }
  return { savedModel: savedModelOf(graph, inputs, inputNames, result, outputNames, dtypeOf, shapeOf), inputNames, outputNames, result };
}

function savedModelOf(
  graph: Proto,
  inputs: NamedTensors,
  inputNames: Record<string, string>,
  outputs: NamedTensors,
  outputNames: Record<string, string>,
  dtypeOf: (tensor: tf.Tensor) => number,
  shapeOf: (shape: readonly number[]) => Proto,
): Uint8Array {
  const P = tensorflowProtos();
  const signature = new P.SignatureDef();
  signature.setMethodName('tensorflow/serving/predict');
  const info = (name: string, tensor: tf.Tensor): Proto => {
    const proto = new P.TensorInfo();
    proto.setName(name);
    proto.setDtype(dtypeOf(tensor));
    proto.setTensorShape(shapeOf(tensor.shape));
    return proto;
  };
  for (const [key, tensor] of Object.entries(inputs)) signature.getInputsMap().set(key, info(inputNames[key]!, tensor));
  for (const [key, tensor] of Object.entries(outputs)) signature.getOutputsMap().set(key, info(outputNames[key]!, tensor));
  const metaInfo = new P.MetaGraphDef.MetaInfoDef();
  metaInfo.addTags('serve');
  const metaGraph = new P.MetaGraphDef();
  metaGraph.setMetaInfoDef(metaInfo);
  metaGraph.setGraphDef(graph);
  metaGraph.getSignatureDefMap().set('serving_default', signature);
  const savedModel = new P.SavedModel();
  savedModel.setSavedModelSchemaVersion(1);
  savedModel.addMetaGraphs(metaGraph);
  return savedModel.serializeBinary() as Uint8Array;
}
