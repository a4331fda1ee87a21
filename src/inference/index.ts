/**
 * The inference layer's facade, the only module the analysis layer imports from here.
 * Everything it returns is plain data; no onnxruntime type crosses this boundary.
 */
import { AppError } from '../errors.js';
import { loadModelRegistry } from './registry.js';
import type { LoadedModel, BatchingOptions } from './registry.js';
import { explainImage, runImage } from './run-image.js';
import type { SaliencyPolicy } from './run-image.js';
import type { ExecutionProvider } from './session.js';
import type { AvailableModel, ImageMap, InferenceLog, ModelResult, ModelStatus } from './types.js';
import type { Image } from '../image/index.js';

export type {
  AgeRule,
  AvailableModel,
  Coding,
  Finding,
  FindingInterpretation,
  ImageMap,
  InferenceLog,
  ModelAccepts,
  ModelDescription,
  ModelInputSummary,
  Measurement,
  ModelMetrics,
  ModelResult,
  ModelStatus,
  ModelTask,
  UnfamiliarVerdict,
} from './types.js';
// The image type every model takes; tools outside src/ meet it here under this name.
export type { Image as InputImage } from '../image/index.js';
export type { SaliencyPolicy } from './run-image.js';
export type { ExecutionProvider } from './session.js';
export type { BatchEvent } from './batcher.js';
export { ManifestError, parseManifest } from './manifest.js';
export type { ModelManifest, ManifestIssue } from './manifest.js';

export interface InferenceEngineOptions {
  /** Directory with one folder per model (`models/`). */
  readonly modelsDir: string;
  /**
   * Exactly these model ids load, whatever their manifests' `enabled` says; absent: every
   * folder whose manifest does not say `"enabled": false`.
   */
  readonly enabledModels?: readonly string[] | undefined;
  /** Tried in order per model; CPU is always the last resort. Default `['cpu']`. */
  readonly executionProviders?: readonly ExecutionProvider[] | undefined;
  /** Threads for one operator; default: onnxruntime's (all cores). */
  readonly intraOpNumThreads?: number | undefined;
  /** Threads across independent operators; default: onnxruntime's. */
  readonly interOpNumThreads?: number | undefined;
  /** Largest batch per run. Default {@link DEFAULTS}.maxBatch. */
  readonly maxBatch?: number | undefined;
  /** Longest a request waits for companions before a partial batch runs. */
  readonly maxWaitMs?: number | undefined;
  /** Images that may wait per model before requests are refused with INFERENCE_BUSY. */
  readonly queueCapacity?: number | undefined;
  /** Deadline per image from submit to result (queue wait included); past it INFERENCE_FAILED. */
  readonly timeoutMs?: number | undefined;
  /** When classifier results carry an occlusion saliency map. Default `flagged`. */
  readonly saliency?: SaliencyPolicy | undefined;
  /** Structured log callback; default: silent. */
  readonly log?: InferenceLog | undefined;
  /** Called after every batch with its model, size and duration (metrics). */
  readonly onBatch?: BatchingOptions['onBatch'];
}

/** /readyz payload. */
export interface InferenceStatus {
  readonly ready: boolean;
  readonly models: readonly ModelStatus[];
}

export interface InferenceEngine {
  /** True while open and at least one model is ready: one broken model must not take the service down. */
  ready(): boolean;
  /** Every model folder, ready or unavailable with its reason. */
  status(): InferenceStatus;
  /** Ready models with what the analysis layer needs to choose series and render images. */
  models(): readonly AvailableModel[];
  /**
   * Runs one image: findings (and a saliency map per the policy) from a classifier,
   * measurements and a mask map from a segmentation model. Concurrent calls share batches.
   *
   * @param modelId - id of a ready model
   * @param image - display-ready pixels rendered with the model's `input.windowing`, any size
   * @throws AppError MODEL_UNAVAILABLE (unknown or unavailable model, or closed engine),
   *   INFERENCE_BUSY (queue full), INFERENCE_FAILED (run failed or exceeded timeoutMs),
   *   IMAGE_UNSUITABLE (a segmentation model found no field of view)
   */
  run(modelId: string, image: Image, options?: { readonly deferMap?: boolean }): Promise<ModelResult>;
  /**
   * The saliency map `run` would attach to this image's result (undefined when none is wanted),
   * for a result whose map was deferred.
   *
   * @throws AppError MODEL_UNAVAILABLE, INFERENCE_BUSY, INFERENCE_FAILED
   */
  explain(modelId: string, image: Image): Promise<ImageMap | undefined>;
  /** Refuses new work, lets running batches finish, releases the sessions. Idempotent. */
  close(): Promise<void>;
}

/** Defaults for the optional limits: small waits (a hook answers in seconds, a batch in ms). */
export const DEFAULTS = Object.freeze({ maxBatch: 8, maxWaitMs: 2, queueCapacity: 64, timeoutMs: 30_000 });

function toAvailable({ manifest: m, description }: LoadedModel): AvailableModel {
  // Copies rather than the frozen manifest objects: the caller gets data, not our internals.
  const { input, accepts, metrics } = m;
  return {
    ...description,
    templates: { ...description.templates },
    accepts: {
      modalities: [...accepts.modalities],
      bodyParts: [...accepts.bodyParts],
      viewPositions: [...accepts.viewPositions],
      missingViewPosition: accepts.missingViewPosition,
      photometricInterpretations: [...accepts.photometricInterpretations],
      minRows: accepts.minRows,
      minColumns: accepts.minColumns,
      ...(accepts.pixelSpacingMm === undefined ? {} : { pixelSpacingMm: { ...accepts.pixelSpacingMm } }),
      ...(accepts.patientAge === undefined ? {} : { patientAge: { ...accepts.patientAge } }),
    },
    input: { width: input.width, height: input.height, channels: input.channels, windowing: { ...input.windowing }, resize: input.resize, ...(input.series === undefined ? {} : { series: input.series }) },
    findings:
      m.task === 'classification'
        ? m.output.labels.filter((l) => l.report).map((l) => ({ key: l.key, display: l.display }))
        : m.output.classes.map((c) => ({ key: c.key, display: c.display })),
    // Only the metrics the manifest states: an absent metric is absent, not `undefined`.
    metrics: {
      dataset: metrics.dataset,
      ...(metrics.auc === undefined ? {} : { auc: metrics.auc }),
      ...(metrics.auc95 === undefined ? {} : { auc95: [metrics.auc95[0], metrics.auc95[1]] as const }),
      ...(metrics.accuracy === undefined ? {} : { accuracy: metrics.accuracy }),
      ...(metrics.sensitivity === undefined ? {} : { sensitivity: metrics.sensitivity }),
      ...(metrics.specificity === undefined ? {} : { specificity: metrics.specificity }),
      ...(metrics.dice === undefined ? {} : { dice: metrics.dice }),
      ...(metrics.dice95 === undefined ? {} : { dice95: [metrics.dice95[0], metrics.dice95[1]] as const }),
      ...(metrics.lvEjectionFraction === undefined ? {} : { lvEjectionFraction: { mae: metrics.lvEjectionFraction.mae, bias: metrics.lvEjectionFraction.bias, loa95: [...metrics.lvEjectionFraction.loa95] as const } }),
    },
  };
}

/**
 * Loads every model under `options.modelsDir` and returns the engine. A model that fails to
 * load is reported by `status()` and refused by `run()`; the others work.
 *
 * @param options - models directory, providers, threads, batching limits, log
 * @throws Error only when the models directory cannot be read
 */
export async function createInferenceEngine(options: InferenceEngineOptions): Promise<InferenceEngine> {
  const log: InferenceLog = options.log ?? (() => undefined);
  const registry = await loadModelRegistry(options.modelsDir, {
    enabledModels: options.enabledModels,
    executionProviders: options.executionProviders,
    intraOpNumThreads: options.intraOpNumThreads,
    interOpNumThreads: options.interOpNumThreads,
    maxBatch: options.maxBatch ?? DEFAULTS.maxBatch,
    maxWaitMs: options.maxWaitMs ?? DEFAULTS.maxWaitMs,
    queueCapacity: options.queueCapacity ?? DEFAULTS.queueCapacity,
    timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
    onBatch: options.onBatch,
    log,
  });
  const available = Object.freeze(registry.models().map((m) => Object.freeze(toAvailable(m))));
  let closed = false;
  const loaded = (modelId: string): LoadedModel => {
    const model = closed ? undefined : registry.get(modelId);
    if (model === undefined) {
      const why = closed ? 'the inference engine is closed' : 'it is not loaded (see /readyz)';
      throw new AppError('MODEL_UNAVAILABLE', `Model ${modelId} is not available: ${why}.`);
    }
    return model;
  };

  return {
    ready: () => !closed && registry.models().length > 0,
    status: () => ({ ready: !closed && registry.models().length > 0, models: registry.status() }),
    models: () => available,
    async run(modelId, image, runOptions) {
      return runImage(loaded(modelId), image, options.saliency ?? 'flagged', log, runOptions?.deferMap === true);
    },
    async explain(modelId, image) {
      return explainImage(loaded(modelId), image, options.saliency ?? 'flagged');
    },
    async close() {
      closed = true;
      await registry.close();
    },
  };
}
