/**
 * The model registry: one folder per model under the models directory. Loading never throws
 * for one bad model: a bad manifest or model file marks that folder unavailable with a reason
 * (for /readyz) and the others load as usual.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createBatcher } from './batcher.js';
import type { BatchEvent, Batcher } from './batcher.js';
import { parseManifest } from './manifest.js';
import type { ModelManifest } from './manifest.js';
import { OOD_FILE, parseOodSpec } from './ood.js';
import type { OodCheck } from './ood.js';
import { createModelSession } from './session.js';
import type { ModelSession, SessionOptions } from './session.js';
import type { ModelDescription, ModelStatus } from './types.js';

/** What one batch item yields: its logits (and features, when checked) and the wall time of the run it was part of. */
export interface ItemOutput {
  readonly logits: Float32Array;
  /** The unfamiliar-image check's features, when the model has the check. */
  readonly features?: Float32Array | undefined;
  readonly inferenceMs: number;
}

/** Batching limits applied to every model (a fixed-batch model is capped at 1). */
export interface BatchingOptions {
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  readonly queueCapacity: number;
  readonly timeoutMs: number;
  /** Called after every batch, e.g. to feed a histogram; tests use it to see batch sizes. */
  readonly onBatch?: ((event: BatchEvent & { readonly modelId: string }) => void) | undefined;
}

export type RegistryOptions = SessionOptions &
  BatchingOptions & {
    /** Exactly these ids load; absent: every manifest not marked `"enabled": false`. */
    readonly enabledModels?: readonly string[] | undefined;
  };

/** Thrown for a model that is switched off: reported as `disabled`, not as a failure. */
class ModelDisabled extends Error {}

/** A model that loaded, warmed up and is ready to run. */
export interface LoadedModel {
  readonly manifest: ModelManifest;
  readonly description: ModelDescription;
  readonly session: ModelSession;
  readonly batcher: Batcher<Float32Array, ItemOutput>;
  /** The unfamiliar-image check (a classifier with an ood.json whose graph has its features output). */
  readonly ood?: OodCheck | undefined;
}

export interface ModelRegistry {
  /** Ready models, in folder order. */
  models(): readonly LoadedModel[];
  get(id: string): LoadedModel | undefined;
  /** Every model folder, ready or unavailable with its reason. */
  status(): readonly ModelStatus[];
  /** Stops the batchers (waiting for running batches) and releases the sessions. */
  close(): Promise<void>;
}

const MANIFEST_FILE = 'manifest.json';

function describe(m: ModelManifest): ModelDescription {
  return Object.freeze({
    id: m.id,
    version: m.version,
    name: m.name,
    manufacturer: m.manufacturer,
    task: m.task,
    intendedUse: m.intendedUse,
    templates: m.templates,
  });
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function loadOne(dir: string, options: RegistryOptions): Promise<LoadedModel> {
  let text: string;
  try {
    text = await readFile(path.join(dir, MANIFEST_FILE), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `no ${MANIFEST_FILE} in the folder` : `cannot read ${MANIFEST_FILE}: ${reasonOf(err)}`);
  }
  const manifest = parseManifest(text, dir);
  const wanted = options.enabledModels;
  if (wanted !== undefined ? !wanted.includes(manifest.id) : !manifest.enabled) {
    throw new ModelDisabled(wanted !== undefined ? 'not in the configured model list (MODELS)' : 'disabled by its manifest ("enabled": false)');
  }
  const check = manifest.task === 'classification' ? await readOodCheck(dir) : undefined;
  const session = await createModelSession(manifest, options, check === undefined ? undefined : { name: check.output, dimension: check.dimension });
  const ood = session.featuresOutput === undefined ? undefined : check;
  const batcher = createBatcher<Float32Array, ItemOutput>({
    name: manifest.id,
    maxBatch: Math.min(options.maxBatch, session.maxBatch),
    maxWaitMs: options.maxWaitMs,
    capacity: options.queueCapacity,
    timeoutMs: options.timeoutMs,
    run: async (items) => {
      const { logits, features, ms } = await session.run(items);
      return logits.map((l, i) => ({ logits: l, features: features?.[i], inferenceMs: ms }));
    },
    onBatch: options.onBatch && ((event) => options.onBatch?.({ ...event, modelId: manifest.id })),
  });
  return { manifest, description: describe(manifest), session, batcher, ...(ood === undefined ? {} : { ood }) };
}

/**
 * The model folder's unfamiliar-image check: undefined when there is no ood.json; a file that is
 * there but unusable makes the model unavailable (a safety check must not vanish silently).
 */
async function readOodCheck(dir: string): Promise<OodCheck | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(dir, OOD_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${OOD_FILE}: ${reasonOf(err)}`, { cause: err });
  }
  return parseOodSpec(text);
}

/**
 * Loads every model folder under `modelsDir`, one after the other (loading is start-up work;
 * in sequence the logs read in order and peak memory is one model's).
 *
 * Folders whose name starts with `.` or `_` are skipped (editor, VCS and shared-code folders);
 * any other folder is a model, and is reported unavailable when it does not load.
 *
 * @param modelsDir - the directory holding one folder per model
 * @param options - session and batching options and the log callback
 * @throws Error only when `modelsDir` itself cannot be read (a configuration error)
 */
export async function loadModelRegistry(modelsDir: string, options: RegistryOptions): Promise<ModelRegistry> {
  const root = path.resolve(modelsDir);
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (err) {
    throw new Error(`models directory ${root} cannot be read: ${reasonOf(err)}`, { cause: err });
  }
  const folders = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !e.name.startsWith('_'))
    .map((e) => e.name)
    .sort();

  const loaded = new Map<string, LoadedModel>();
  const statuses: ModelStatus[] = [];
  for (const folder of folders) {
    const started = performance.now();
    try {
      const model = await loadOne(path.join(root, folder), options);
      loaded.set(model.manifest.id, model);
      statuses.push({
        id: model.manifest.id,
        folder,
        status: 'ready',
        version: model.manifest.version,
        provider: model.session.provider,
        maxBatch: Math.min(options.maxBatch, model.session.maxBatch),
      });
      options.log('info', 'model loaded', {
        modelId: model.manifest.id,
        version: model.manifest.version,
        provider: model.session.provider,
        maxBatch: Math.min(options.maxBatch, model.session.maxBatch),
        ms: Math.round(performance.now() - started),
      });
    } catch (err) {
      const reason = reasonOf(err);
      if (err instanceof ModelDisabled) {
        statuses.push({ id: folder, folder, status: 'disabled', reason });
        options.log('info', 'model disabled', { folder, reason });
      } else {
        statuses.push({ id: folder, folder, status: 'unavailable', reason });
        options.log('error', 'model unavailable', { folder, reason });
      }
    }
  }
  for (const s of statuses) Object.freeze(s);
  Object.freeze(statuses);

  let closing: Promise<void> | undefined;
  return {
    models: () => [...loaded.values()],
    get: (id) => loaded.get(id),
    status: () => statuses,
    close() {
      closing ??= (async () => {
        for (const model of loaded.values()) {
          await model.batcher.close();
          await model.session.close();
        }
      })();
      return closing;
    },
  };
}
