/**
 * One onnxruntime session per model: provider fallback, a signature check against the
 * manifest, batch-axis detection and a warm-up run, all at load so that a model that is
 * "ready" has already run once. The only module that imports onnxruntime-node.
 */
import { stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import type { InferenceSession } from 'onnxruntime-node';
import { outputValuesPerImage } from './manifest.js';
import type { ModelManifest } from './manifest.js';
import type { InferenceLog } from './types.js';

/** Execution providers onnxruntime-node knows by name; this build bundles only `cpu`. */
export type ExecutionProvider = 'cpu' | 'cuda' | 'tensorrt' | 'dml' | 'coreml';

export interface SessionOptions {
  /** Tried in order, one at a time; `cpu` is always the last resort. Default `['cpu']`. */
  readonly executionProviders?: readonly ExecutionProvider[] | undefined;
  readonly intraOpNumThreads?: number | undefined;
  readonly interOpNumThreads?: number | undefined;
  readonly log: InferenceLog;
}

/** A runnable model, free of onnxruntime types. */
export interface ModelSession {
  /** The provider the session was created with. */
  readonly provider: ExecutionProvider;
  /** Largest batch the graph accepts: 1 when its batch axis is fixed, else unbounded. */
  readonly maxBatch: number;
  /** The features output `run` returns, when one was asked for and the graph has it. */
  readonly featuresOutput: string | undefined;
  /**
   * Runs one batch.
   * @param items - preprocessed CHW images, each `channels × height × width` long
   * @returns one logits array per item (one per label, or per class and pixel for segmentation),
   *   one features array per item when the session has a features output, and the run's wall time
   */
  run(items: readonly Float32Array[]): Promise<{ readonly logits: Float32Array[]; readonly features?: Float32Array[] | undefined; readonly ms: number }>;
  close(): Promise<void>;
}

/** Why a model could not be loaded; its message becomes the /readyz reason. */
export class ModelLoadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelLoadError';
  }
}

type BatchAxis = { kind: 'dynamic' } | { kind: 'fixed1' } | { kind: 'unknown' };

/** A second graph output to read with the logits: the features of the unfamiliar-image check. */
export interface FeaturesOutput {
  readonly name: string;
  /** Values per image. */
  readonly dimension: number;
}

function message(err: unknown): string {
  return err instanceof Error ? (err.message.split('\n')[0] ?? '').trim() : String(err);
}

/**
 * Checks the graph's input and output against the manifest and reads the batch axis.
 *
 * The batch axis is detected, not declared: ORT ≥ 1.22 exposes each input's shape, where a
 * symbolic (string) first dimension means dynamic and the number 1 means fixed. Only a graph
 * that declares no shape at all reaches `unknown`, resolved by a probe run (see warmUp). A
 * manifest field would be one more thing that can disagree with the file.
 */
function checkSignature(session: InferenceSession, manifest: ModelManifest): BatchAxis {
  const { input, output } = manifest;
  if (session.inputNames.length !== 1 || session.inputNames[0] !== input.name) {
    throw new ModelLoadError(`model input "${input.name}" not found; the model's inputs are: ${session.inputNames.join(', ')} (exactly one input named as in the manifest is required)`);
  }
  if (!session.outputNames.includes(output.name)) {
    throw new ModelLoadError(`model output "${output.name}" not found; the model's outputs are: ${session.outputNames.join(', ')}`);
  }
  const outMeta = session.outputMetadata.find((m) => m.name === output.name);
  if (outMeta?.isTensor === true && outMeta.type !== 'float32') {
    throw new ModelLoadError(`model output "${output.name}" is ${outMeta.type}, expected float32`);
  }
  const meta = session.inputMetadata[0];
  if (meta === undefined || !meta.isTensor) return { kind: 'unknown' };
  if (meta.type !== 'float32') throw new ModelLoadError(`model input "${input.name}" is ${meta.type}, expected float32`);
  const shape = meta.shape;
  if (shape.length === 0) return { kind: 'unknown' };
  if (shape.length !== 4) {
    throw new ModelLoadError(`model input "${input.name}" has shape [${shape.join(', ')}], expected rank 4 (NCHW)`);
  }
  const expected = [input.channels, input.height, input.width] as const;
  const names = ['channels', 'height', 'width'] as const;
  for (let i = 0; i < 3; i++) {
    const dim = shape[i + 1];
    // A symbolic spatial dimension is accepted: the manifest fixes the size we feed.
    if (typeof dim === 'number' && dim !== expected[i]) {
      throw new ModelLoadError(`model input "${input.name}" has shape [${shape.join(', ')}] but the manifest says ${names[i]} = ${expected[i]}`);
    }
  }
  const batch = shape[0];
  if (typeof batch === 'string') return { kind: 'dynamic' };
  if (batch === 1) return { kind: 'fixed1' };
  throw new ModelLoadError(`model input "${input.name}" has its batch axis fixed at ${batch}; export it with a dynamic batch axis or batch 1`);
}

interface RawOutput {
  readonly logits: Float32Array;
  readonly features: Float32Array | undefined;
}

async function runRaw(session: InferenceSession, manifest: ModelManifest, batch: Float32Array, n: number, features?: FeaturesOutput): Promise<RawOutput> {
  const { input, output } = manifest;
  const tensor = new ort.Tensor('float32', batch, [n, input.channels, input.height, input.width]);
  const result = await session.run({ [input.name]: tensor }, features === undefined ? [output.name] : [output.name, features.name]);
  const out = result[output.name];
  if (out === undefined || out.type !== 'float32') throw new ModelLoadError(`model output "${output.name}" is missing or not float32`);
  const per = outputValuesPerImage(manifest);
  const data = out.data as Float32Array;
  if (data.length !== n * per) {
    const expected =
      manifest.task === 'classification'
        ? `the manifest lists ${per} labels`
        : `the manifest expects ${manifest.output.classes.length} class(es) × ${manifest.input.height} × ${manifest.input.width} = ${per}`;
    throw new ModelLoadError(`model output "${output.name}" has ${data.length / n} values per image but ${expected}`);
  }
  if (features === undefined) return { logits: data, features: undefined };
  const f = result[features.name];
  if (f === undefined || f.type !== 'float32') throw new ModelLoadError(`model output "${features.name}" is missing or not float32`);
  const fdata = f.data as Float32Array;
  if (fdata.length !== n * features.dimension) {
    throw new ModelLoadError(`model output "${features.name}" has ${fdata.length / n} values per image but ood.json says ${features.dimension}`);
  }
  return { logits: data, features: fdata };
}

/** Runs zeros through the graph; resolves the batch axis when metadata could not. */
async function warmUp(session: InferenceSession, manifest: ModelManifest, axis: BatchAxis, features: FeaturesOutput | undefined): Promise<number> {
  const per = manifest.input.channels * manifest.input.height * manifest.input.width;
  if (axis.kind === 'unknown') {
    try {
      await runRaw(session, manifest, new Float32Array(2 * per), 2, features);
      return Number.POSITIVE_INFINITY;
    } catch (err) {
      if (err instanceof ModelLoadError) throw err;
      // Batch 2 refused: treat the axis as fixed at 1 and let the batch-1 run below decide.
    }
  }
  await runRaw(session, manifest, new Float32Array(per), 1, features);
  return axis.kind === 'dynamic' ? Number.POSITIVE_INFINITY : 1;
}

async function fileExists(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * Creates, checks and warms up a session for one model.
 *
 * Providers are tried one at a time because onnxruntime-node fails the whole create when any
 * listed provider cannot load (a CPU-only build given `['cuda', 'cpu']` throws "Failed to load
 * shared library") instead of falling back; each failure is logged and the next is tried.
 *
 * @param manifest - the validated manifest; names and sizes are checked against the graph
 * @param options - providers, threads and the log callback
 * @param features - a second output to read with the logits (the unfamiliar-image check's);
 *   a graph without it still loads, without it (`featuresOutput` undefined, logged)
 * @throws ModelLoadError with a one-line reason for /readyz
 */
export async function createModelSession(manifest: ModelManifest, options: SessionOptions, features?: FeaturesOutput): Promise<ModelSession> {
  if (!(await fileExists(manifest.modelPath))) throw new ModelLoadError(`model file ${manifest.file} not found in ${manifest.dir}`);
  const requested = options.executionProviders ?? ['cpu'];
  const candidates = [...new Set<ExecutionProvider>([...requested, 'cpu'])];
  let lastError: unknown;

  for (const [i, provider] of candidates.entries()) {
    const next = candidates[i + 1];
    const fail = (stage: string, err: unknown): void => {
      lastError = err;
      if (next !== undefined) {
        options.log('warn', `execution provider ${provider} failed to ${stage}; falling back to ${next}`, { modelId: manifest.id, provider, next, err });
      }
    };
    let session: InferenceSession;
    try {
      session = await ort.InferenceSession.create(manifest.modelPath, {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        ...(options.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: options.intraOpNumThreads }),
        ...(options.interOpNumThreads === undefined ? {} : { interOpNumThreads: options.interOpNumThreads }),
      });
    } catch (err) {
      fail('create the session', err);
      continue;
    }
    let maxBatch: number;
    const extra = features !== undefined && session.outputNames.includes(features.name) ? features : undefined;
    if (features !== undefined && extra === undefined) {
      options.log('warn', `model has no output "${features.name}": no unfamiliar-image check`, { modelId: manifest.id });
    }
    try {
      // A signature mismatch is the manifest's or the file's fault: no provider can fix it.
      maxBatch = await warmUp(session, manifest, checkSignature(session, manifest), extra);
    } catch (err) {
      await session.release();
      if (err instanceof ModelLoadError) throw err;
      fail('run the warm-up', err);
      continue;
    }
    return wrap(session, manifest, provider, maxBatch, extra);
  }
  throw new ModelLoadError(`onnxruntime could not load ${manifest.file}: ${message(lastError)}`, { cause: lastError });
}

function wrap(session: InferenceSession, manifest: ModelManifest, provider: ExecutionProvider, maxBatch: number, features: FeaturesOutput | undefined): ModelSession {
  const { channels, height, width } = manifest.input;
  const per = channels * height * width;
  const outPer = outputValuesPerImage(manifest);
  return {
    provider,
    maxBatch,
    featuresOutput: features?.name,
    async run(items) {
      const n = items.length;
      if (n < 1 || n > maxBatch) throw new RangeError(`batch of ${n} for a model that accepts 1..${maxBatch}`);
      const batch = new Float32Array(n * per);
      items.forEach((item, i) => {
        if (item.length !== per) throw new RangeError(`input ${i} has ${item.length} values, expected ${per}`);
        batch.set(item, i * per);
      });
      const started = performance.now();
      const raw = await runRaw(session, manifest, batch, n, features);
      const ms = performance.now() - started;
      const logits = Array.from({ length: n }, (_, i) => raw.logits.subarray(i * outPer, (i + 1) * outPer));
      const f = raw.features;
      if (f === undefined || features === undefined) return { logits, ms };
      const dim = features.dimension;
      return { logits, features: Array.from({ length: n }, (_, i) => f.subarray(i * dim, (i + 1) * dim)), ms };
    },
    async close() {
      await session.release();
    },
  };
}
