/**
 * Recomputes model cards' test-split numbers through the TypeScript inference pipeline
 * (InputImage in [0, 1] → createInferenceEngine → run → finding probability or class map) and
 * compares them with what each model's manifest states, section by section, as its
 * `evaluation` list declares.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { evaluationEngine } from './engine.js';
import type { InferenceEngine, InputImage } from '../../src/inference/index.js';
import { binaryMetrics } from './binary-metrics.js';
import { discoverEvaluations, formatIssues } from './plan.js';
import type { Discovered, EvaluationTarget } from './plan.js';
import { secondObserverAgreement, segmentationMetrics } from './segmentation-metrics.js';
import { resolveTestSet } from './test-sets.js';
import type { ClassificationTestSet, SegmentationTestSet } from './test-sets.js';

/** The default largest difference allowed between a stated and a recomputed metric. */
export const DEFAULT_TOLERANCE = 0.002;

/** The numbers each kind of card must state, by their path under the section. */
export const METRIC_KEYS = {
  classification: ['auc', 'accuracy', 'sensitivity', 'specificity'],
  segmentation: ['auc', 'dice', 'accuracy', 'sensitivity', 'specificity', 'secondObserver.dice', 'secondObserver.accuracy', 'secondObserver.sensitivity', 'secondObserver.specificity'],
} as const;

/** One stated metric against the recomputed one. */
export interface MetricCheck {
  /** Path under the section, e.g. `auc` or `secondObserver.dice`. */
  readonly key: string;
  /** Undefined when the manifest does not state it (a failure). */
  readonly stated: number | undefined;
  readonly computed: number;
  readonly ok: boolean;
}

/** The result for one manifest section. */
export interface CardCheck {
  readonly modelId: string;
  readonly section: string;
  /** The test set read, and the manifest's own `dataset` text for the section. */
  readonly dataset: string;
  readonly threshold: number;
  /** What was counted, e.g. "n=624, positives=390" or "20 images, 4,494,459 FOV pixels". */
  readonly counted: string;
  readonly checks: readonly MetricCheck[];
  /** Set when the section could not be evaluated at all (counts as a failure). */
  readonly error?: string | undefined;
  readonly ok: boolean;
  readonly seconds: number;
}

/** What {@link evaluateModelCards} checks, and how strictly. */
export interface EvaluateOptions {
  /** The folder with one sub-folder per model (`models/`). */
  readonly modelsDir: string;
  /** The shared data folder with the test sets. */
  readonly dataDir: string;
  /** Default {@link DEFAULT_TOLERANCE}. */
  readonly tolerance?: number | undefined;
  /** Only these model ids (default: every model folder with an `evaluation` list). */
  readonly only?: readonly string[] | undefined;
  /** What to check; default: {@link discoverEvaluations} on `modelsDir`. */
  readonly discovered?: Discovered | undefined;
}

/** The parts of manifest.json the check reads (the service has validated the rest). */
const ManifestPartsSchema = z.looseObject({
  task: z.enum(['classification', 'segmentation']),
  output: z.looseObject({
    labels: z.array(z.looseObject({ key: z.string(), report: z.boolean(), threshold: z.number().optional() })).optional(),
    classes: z.array(z.looseObject({ key: z.string(), threshold: z.number() })).optional(),
  }),
  metrics: z.record(z.string(), z.unknown()),
});

type ManifestParts = z.infer<typeof ManifestPartsSchema>;

/** What a section's check found, before timing and bookkeeping. */
interface SectionResult {
  readonly description: string;
  readonly threshold: number;
  readonly counted: string;
  readonly checks: readonly MetricCheck[];
}

/** Images in flight at once: enough to fill batches, few enough for the engine's queue. */
const CHUNK = 256;

/** A stated metric by dotted path (`secondObserver.dice`), when it is a number. */
function statedAt(section: Record<string, unknown>, dotted: string): number | undefined {
  let node: unknown = section;
  for (const part of dotted.split('.')) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined;
  return typeof node === 'number' ? node : undefined;
}

function compare(keys: readonly string[], stated: Record<string, unknown>, computed: Readonly<Record<string, number>>, tolerance: number): MetricCheck[] {
  return keys.map((key) => {
    const value = statedAt(stated, key);
    const got = computed[key] ?? Number.NaN;
    return { key, stated: value, computed: got, ok: value !== undefined && Math.abs(value - got) <= tolerance };
  });
}

async function readManifestParts(modelsDir: string, modelId: string): Promise<ManifestParts> {
  const parsed = ManifestPartsSchema.safeParse(JSON.parse(await readFile(path.join(modelsDir, modelId, 'manifest.json'), 'utf8')));
  if (!parsed.success) throw new Error(formatIssues(parsed.error, 'manifest'));
  return parsed.data;
}

/** The stated numbers of `metrics` or `metrics.benchmark`. */
function sectionOf(manifest: ManifestParts, section: EvaluationTarget['section']): Record<string, unknown> {
  const node = section === 'metrics' ? manifest.metrics : manifest.metrics['benchmark'];
  if (node === null || typeof node !== 'object' || Array.isArray(node)) throw new Error(`manifest has no ${section} object`);
  return node as Record<string, unknown>;
}

/** Submits images in chunks small enough for the engine's queue; returns one probability each. */
async function probabilitiesFor(engine: InferenceEngine, modelId: string, key: string, images: readonly InputImage[]): Promise<Float64Array> {
  const out = new Float64Array(images.length);
  for (let start = 0; start < images.length; start += CHUNK) {
    const part = images.slice(start, start + CHUNK);
    const results = await Promise.all(part.map((img) => engine.run(modelId, img)));
    results.forEach((r, i) => {
      const f = r.findings.find((x) => x.key === key);
      if (f === undefined) throw new Error(`${modelId} returned no finding "${key}"`);
      out[start + i] = f.probability;
    });
  }
  return out;
}

/** Runs a classifier over its test set at its reported label's threshold. */
async function checkClassifier(engine: InferenceEngine, modelId: string, manifest: ManifestParts, testSet: ClassificationTestSet, stated: Record<string, unknown>, tolerance: number): Promise<SectionResult> {
  const reported = (manifest.output.labels ?? []).filter((l) => l.report);
  const label = reported[0];
  if (reported.length !== 1 || label?.threshold === undefined) throw new Error('expected exactly one reported label with a threshold');
  const set = await testSet.read();
  const p = await probabilitiesFor(engine, modelId, label.key, set.images);
  const computed = binaryMetrics(set.labels, p, label.threshold);
  return {
    description: set.description,
    threshold: label.threshold,
    counted: `n=${computed.n}, positives=${computed.positives}`,
    checks: compare(METRIC_KEYS.classification, stated, { ...computed }, tolerance),
  };
}

/** Runs a segmentation model over its test images, one at a time (each map is full size). */
async function checkSegmenter(engine: InferenceEngine, modelId: string, manifest: ManifestParts, testSet: SegmentationTestSet, stated: Record<string, unknown>, tolerance: number): Promise<SectionResult> {
  const cls = manifest.output.classes?.[0];
  if (cls === undefined || manifest.output.classes?.length !== 1) throw new Error('expected exactly one segmentation class');
  const { description, cases } = await testSet.read();
  const maps: Float32Array[] = [];
  for (const c of cases) {
    const map = (await engine.run(modelId, c.image)).map;
    if (map?.kind !== 'mask' || map.width !== c.image.width || map.height !== c.image.height) {
      throw new Error(`${modelId} gave no ${c.image.width}×${c.image.height} probability map for test image ${c.name}`);
    }
    maps.push(map.values);
  }
  const model = segmentationMetrics(cases, maps, cls.threshold);
  const computed: Record<string, number> = { ...model };
  const human: Readonly<Record<string, number>> = { ...secondObserverAgreement(cases) };
  for (const [k, v] of Object.entries(human)) computed[`secondObserver.${k}`] = v;
  return {
    description,
    threshold: cls.threshold,
    counted: `${cases.length} images, ${model.pixels.toLocaleString('en-GB')} FOV pixels`,
    checks: compare(METRIC_KEYS.segmentation, stated, computed, tolerance),
  };
}

/** Evaluates one target; every failure becomes a check with `error`. */
async function checkTarget(engine: InferenceEngine, target: EvaluationTarget, options: EvaluateOptions, tolerance: number): Promise<CardCheck> {
  const t0 = performance.now();
  const { modelId, section } = target;
  try {
    const status = engine.status().models.find((m) => m.id === modelId);
    if (status?.status !== 'ready') throw new Error(`model not ready: ${status?.reason ?? 'no such model folder'}`);
    const manifest = await readManifestParts(options.modelsDir, modelId);
    const stated = sectionOf(manifest, section);
    const testSet = resolveTestSet(target.testSet, options.dataDir);
    if (testSet.task !== manifest.task) throw new Error(`test set kind "${target.testSet.kind}" checks ${testSet.task} models, this is a ${manifest.task} model`);
    const result =
      testSet.task === 'classification'
        ? await checkClassifier(engine, modelId, manifest, testSet, stated, tolerance)
        : await checkSegmenter(engine, modelId, manifest, testSet, stated, tolerance);
    const dataset = typeof stated['dataset'] === 'string' ? stated['dataset'] : '(none)';
    return {
      modelId,
      section,
      dataset: `${result.description}; manifest ${section}.dataset: ${dataset}`,
      threshold: result.threshold,
      counted: result.counted,
      checks: result.checks,
      ok: result.checks.every((c) => c.ok),
      seconds: (performance.now() - t0) / 1000,
    };
  } catch (err) {
    return failed(modelId, section, err instanceof Error ? err.message : String(err), (performance.now() - t0) / 1000);
  }
}

function failed(modelId: string, section: string, error: string, seconds = 0): CardCheck {
  return { modelId, section, dataset: '', threshold: Number.NaN, counted: '', checks: [], error, ok: false, seconds };
}

/**
 * Evaluates every target's model through the TypeScript pipeline and compares with its manifest.
 *
 * @returns one check per target (and one failed check per model whose `evaluation` list is
 *   invalid); `ok` is false when any metric differs by more than the tolerance, a stated metric
 *   is missing, or the section cannot be evaluated
 */
export async function evaluateModelCards(options: EvaluateOptions): Promise<CardCheck[]> {
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const discovered = options.discovered ?? discoverEvaluations(options.modelsDir);
  const wanted = (id: string): boolean => options.only === undefined || options.only.includes(id);
  const checks = discovered.problems.filter((p) => wanted(p.modelId)).map((p) => failed(p.modelId, 'evaluation', p.message));
  const targets = discovered.targets.filter((t) => wanted(t.modelId));
  if (targets.length === 0) return checks;
  // Every card is checked, also those of models shipped switched off.
  const engine = await evaluationEngine(options.modelsDir, targets.map((t) => t.modelId), { maxBatch: 64, chunk: CHUNK });
  try {
    for (const target of targets) checks.push(await checkTarget(engine, target, options, tolerance));
  } finally {
    await engine.close();
  }
  return checks;
}
