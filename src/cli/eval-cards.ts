/**
 * Recomputes each model card's test-split numbers through the TypeScript inference pipeline
 * (InputImage in [0, 1] → createInferenceEngine → run → finding probability) and compares them
 * with what the model's manifest states. Used by src/cli/evaluate.ts and the model-cards test.
 *
 * Which test set belongs to which manifest section is declared in {@link EVAL_SPECS}: the
 * manifest says it only in prose (`metrics.dataset`).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInferenceEngine } from '../inference/index.js';
import type { InputImage } from '../inference/index.js';
import { driveTestSet, secondObserverAgreement, segmentationMetrics } from './eval-drive.js';
import { binaryMetrics } from './eval-metrics.js';
import { kermanyRgbTestSet, kermanyTestSet } from './eval-kermany.js';
import { readNpz } from './eval-npz.js';

/** A labelled test set as the service would see it. */
export interface TestSet {
  readonly description: string;
  readonly images: readonly InputImage[];
  /** 1 = the reported finding is present. */
  readonly labels: Uint8Array;
}

/** A classifier's card section, checked on a labelled test set. */
export interface ClassificationEvalSpec {
  readonly task: 'classification';
  readonly modelId: string;
  /** Where in manifest.json the numbers for this test set are: `metrics` or `metrics.benchmark`. */
  readonly section: 'metrics' | 'metrics.benchmark';
  /** Loads the test set; `dataDir` is the shared data folder (shared/data). */
  readonly load: (dataDir: string) => Promise<TestSet>;
}

/** A segmentation model's card, checked on the DRIVE test set (the only one shipped). */
export interface SegmentationEvalSpec {
  readonly task: 'segmentation';
  readonly modelId: string;
  readonly section: 'metrics';
}

export type EvalSpec = ClassificationEvalSpec | SegmentationEvalSpec;

/** MedMNIST test split: uint8 images → [0, 1] float32, labels mapped to finding present / absent. */
export function medmnistTestSet(file: string, positive: (label: number) => boolean) {
  return async (dataDir: string): Promise<TestSet> => {
    const npz = await readNpz(path.join(dataDir, 'medmnist', file));
    const x = npz.get('test_images');
    const y = npz.get('test_labels');
    if (x === undefined || y === undefined || !(x.data instanceof Uint8Array) || !(y.data instanceof Uint8Array)) {
      throw new Error(`${file}: test_images / test_labels (uint8) not found`);
    }
    const [n, h, w, c = 1] = x.shape as [number, number, number, number?];
    if (c !== 1 && c !== 3) throw new Error(`${file}: ${c} channels`);
    const per = h * w * c;
    const images: InputImage[] = [];
    for (let i = 0; i < n; i++) {
      const data = new Float32Array(per);
      for (let k = 0; k < per; k++) data[k] = (x.data[i * per + k] as number) / 255;
      images.push({ width: w, height: h, channels: c, data });
    }
    const labels = Uint8Array.from(y.data, (v) => (positive(v) ? 1 : 0));
    return { description: `${file} test split (n=${n})`, images, labels };
  };
}

/** The models whose cards this tool checks, and against which test set. */
export const EVAL_SPECS: readonly EvalSpec[] = [
  // The manifest's headline metrics are on the Kermany 224 JPEGs (whole image area-averaged, as
  // the service sees a radiograph); the PneumoniaMNIST numbers sit under metrics.benchmark.
  { task: 'classification', modelId: 'pneumonia-cxr-28', section: 'metrics', load: kermanyTestSet },
  { task: 'classification', modelId: 'pneumonia-cxr-28', section: 'metrics.benchmark', load: medmnistTestSet('pneumoniamnist.npz', (l) => l === 1) },
  // The 224 model sees the Kermany JPEGs at their own size; colour → grey is the engine's BT.601.
  { task: 'classification', modelId: 'pneumonia-cxr-224', section: 'metrics', load: kermanyRgbTestSet },
  // BreastMNIST: label 0 = malignant (the reported finding), 1 = normal/benign.
  { task: 'classification', modelId: 'breast-us-28', section: 'metrics', load: medmnistTestSet('breastmnist.npz', (l) => l === 0) },
  // RetinaMNIST grades 0–4; the reported finding is referable DR, grade ≥ 2.
  { task: 'classification', modelId: 'retina-dr-28', section: 'metrics', load: medmnistTestSet('retinamnist.npz', (l) => l >= 2) },
  // DRIVE test images against the first observer, inside the field-of-view masks.
  { task: 'segmentation', modelId: 'retina-vessels-drive', section: 'metrics' },
];

/** The numbers each kind of card must state, by their manifest path under the section. */
export const METRIC_KEYS = {
  classification: ['auc', 'accuracy', 'sensitivity', 'specificity'],
  segmentation: ['auc', 'dice', 'accuracy', 'sensitivity', 'specificity', 'secondObserver.dice', 'secondObserver.accuracy', 'secondObserver.sensitivity', 'secondObserver.specificity'],
} as const;

export interface MetricCheck {
  readonly key: string;
  readonly stated: number | undefined;
  readonly computed: number;
  readonly ok: boolean;
}

export interface CardCheck {
  readonly modelId: string;
  readonly section: string;
  readonly dataset: string;
  readonly threshold: number;
  /** What was counted, e.g. "n=624, positives=390" or "20 images, 4,494,459 FOV pixels". */
  readonly counted: string;
  readonly checks: readonly MetricCheck[];
  /** Set when the model could not be evaluated at all (counts as a failure). */
  readonly error?: string | undefined;
  readonly ok: boolean;
  readonly seconds: number;
}

export interface EvaluateOptions {
  readonly modelsDir: string;
  readonly dataDir: string;
  readonly tolerance?: number | undefined;
  /** Only these model ids (default: every spec). */
  readonly only?: readonly string[] | undefined;
  readonly specs?: readonly EvalSpec[] | undefined;
}

interface ManifestJson {
  readonly output: {
    readonly labels?: readonly { readonly key: string; readonly report: boolean; readonly threshold?: number }[];
    readonly classes?: readonly { readonly key: string; readonly threshold: number }[];
  };
  readonly metrics: Record<string, unknown> & { readonly benchmark?: Record<string, unknown> };
}

type Engine = Awaited<ReturnType<typeof createInferenceEngine>>;

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

/** Runs a classifier over its test set; returns the section's checks. */
async function checkClassifier(engine: Engine, spec: ClassificationEvalSpec, manifest: ManifestJson, stated: Record<string, unknown>, dataDir: string, tolerance: number) {
  const reported = (manifest.output.labels ?? []).filter((l) => l.report);
  const label = reported[0];
  if (reported.length !== 1 || label === undefined || label.threshold === undefined) throw new Error('expected exactly one reported label with a threshold');
  const set = await spec.load(dataDir);
  const p = await probabilitiesFor(engine, spec.modelId, label.key, set.images, CHUNK);
  const computed = binaryMetrics(set.labels, p, label.threshold);
  return {
    description: set.description,
    threshold: label.threshold,
    counted: `n=${computed.n}, positives=${computed.positives}`,
    checks: compare(METRIC_KEYS.classification, stated, { ...computed }, tolerance),
  };
}

/** Runs a segmentation model over DRIVE's test images; returns the section's checks. */
async function checkSegmenter(engine: Engine, spec: SegmentationEvalSpec, manifest: ManifestJson, stated: Record<string, unknown>, dataDir: string, tolerance: number) {
  const cls = manifest.output.classes?.[0];
  if (cls === undefined || manifest.output.classes?.length !== 1) throw new Error('expected exactly one segmentation class');
  const cases = await driveTestSet(dataDir);
  const maps: Float32Array[] = [];
  // One image at a time: each is 565×584×3 floats in and a full-size map out.
  for (const c of cases) {
    const map = (await engine.run(spec.modelId, c.image)).map;
    if (map?.kind !== 'mask' || map.width !== c.image.width || map.height !== c.image.height) {
      throw new Error(`${spec.modelId} gave no ${c.image.width}×${c.image.height} probability map for DRIVE ${c.name}`);
    }
    maps.push(map.values);
  }
  const model = segmentationMetrics(cases, maps, cls.threshold);
  const human = secondObserverAgreement(cases);
  const computed: Record<string, number> = { ...model };
  for (const [k, v] of Object.entries(human) as [string, number][]) computed[`secondObserver.${k}`] = v;
  return {
    description: `DRIVE test images (n=${cases.length}), first observer, inside the FOV masks`,
    threshold: cls.threshold,
    counted: `${cases.length} images, ${model.pixels.toLocaleString('en-GB')} FOV pixels`,
    checks: compare(METRIC_KEYS.segmentation, stated, computed, tolerance),
  };
}

async function readManifest(modelsDir: string, id: string): Promise<ManifestJson> {
  const { readFile } = await import('node:fs/promises');
  return JSON.parse(await readFile(path.join(modelsDir, id, 'manifest.json'), 'utf8')) as ManifestJson;
}

/** Images in flight at once: enough to fill batches, few enough for the engine's queue. */
const CHUNK = 256;

/** Submits images in chunks small enough for the engine's queue; returns one probability each. */
async function probabilitiesFor(
  engine: Engine,
  modelId: string,
  key: string,
  images: readonly InputImage[],
  chunk: number,
): Promise<Float64Array> {
  const out = new Float64Array(images.length);
  for (let start = 0; start < images.length; start += chunk) {
    const part = images.slice(start, start + chunk);
    const results = await Promise.all(part.map((img) => engine.run(modelId, img)));
    results.forEach((r, i) => {
      const f = r.findings.find((x) => x.key === key);
      if (f === undefined) throw new Error(`${modelId} returned no finding "${key}"`);
      out[start + i] = f.probability;
    });
  }
  return out;
}

/**
 * Evaluates every spec's model through the TypeScript pipeline and compares with its manifest.
 * @returns one check per model; `ok` is false when any metric differs by more than `tolerance`
 *   (default 0.002), a stated metric is missing, or the model cannot be run
 */
export async function evaluateModelCards(options: EvaluateOptions): Promise<CardCheck[]> {
  const tolerance = options.tolerance ?? 0.002;
  const specs = (options.specs ?? EVAL_SPECS).filter((s) => options.only === undefined || options.only.includes(s.modelId));
  const engine = await createInferenceEngine({
    modelsDir: options.modelsDir,
    // Every card is checked, also those of models shipped switched off.
    enabledModels: [...new Set(specs.map((s) => s.modelId))],
    maxBatch: 64,
    maxWaitMs: 1,
    queueCapacity: CHUNK * 2,
    intraOpNumThreads: 1,
    // The cards state the findings' numbers; explanations would only cost time.
    saliency: 'never',
  });
  const checks: CardCheck[] = [];
  try {
    for (const spec of specs) {
      const t0 = performance.now();
      const base = { modelId: spec.modelId, section: spec.section };
      try {
        const status = engine.status().models.find((m) => m.id === spec.modelId);
        if (status?.status !== 'ready') throw new Error(`model not ready: ${status?.reason ?? 'no such model folder'}`);
        const manifest = await readManifest(options.modelsDir, spec.modelId);
        const stated = spec.section === 'metrics' ? manifest.metrics : manifest.metrics.benchmark;
        if (stated === undefined) throw new Error(`manifest has no ${spec.section}`);
        const result =
          spec.task === 'classification'
            ? await checkClassifier(engine, spec, manifest, stated, options.dataDir, tolerance)
            : await checkSegmenter(engine, spec, manifest, stated, options.dataDir, tolerance);
        checks.push({
          ...base,
          dataset: `${result.description}; manifest ${spec.section}.dataset: ${typeof stated['dataset'] === 'string' ? stated['dataset'] : '(none)'}`,
          threshold: result.threshold,
          counted: result.counted,
          checks: result.checks,
          ok: result.checks.every((c) => c.ok),
          seconds: (performance.now() - t0) / 1000,
        });
      } catch (err) {
        checks.push({
          ...base, dataset: '', threshold: Number.NaN, counted: '', checks: [],
          error: err instanceof Error ? err.message : String(err), ok: false, seconds: (performance.now() - t0) / 1000,
        });
      }
    }
  } finally {
    await engine.close();
  }
  return checks;
}

/** Human-readable report, one block per model. */
export function formatChecks(checks: readonly CardCheck[], tolerance = 0.002): string {
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${c.ok ? 'OK  ' : 'FAIL'} ${c.modelId} [${c.section}] (${c.seconds.toFixed(1)} s)`);
    if (c.error !== undefined) {
      lines.push(`     error: ${c.error}`);
      continue;
    }
    lines.push(`     ${c.dataset}`);
    lines.push(`     ${c.counted}, threshold ${c.threshold}`);
    for (const m of c.checks) {
      const stated = m.stated === undefined ? 'missing' : m.stated.toFixed(4);
      const diff = m.stated === undefined ? '' : ` |diff| ${Math.abs(m.stated - m.computed).toFixed(5)}`;
      lines.push(`     ${m.ok ? ' ' : '!'} ${m.key.padEnd(26)} manifest ${stated}  pipeline ${m.computed.toFixed(4)}${diff}`);
    }
  }
  const failed = checks.filter((c) => !c.ok).length;
  lines.push(failed === 0 ? `all ${checks.length} model cards agree within ${tolerance}` : `${failed} of ${checks.length} model cards disagree`);
  return lines.join('\n');
}

/**
 * Where the shared data sets are: `shared/data` inside the checkout when there is one (how the
 * device machine and some CI runners lay it out), else `../shared/data` beside it.
 *
 * @param root - the repository root
 */
export function defaultDataDir(root: string): string {
  const inside = path.join(root, 'shared', 'data');
  return existsSync(path.join(inside, 'medmnist')) ? inside : path.join(root, '..', 'shared', 'data');
}
