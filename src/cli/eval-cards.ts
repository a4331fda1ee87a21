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
import { binaryMetrics } from './eval-metrics.js';
import type { BinaryMetrics } from './eval-metrics.js';
import { kermanyTestSet } from './eval-kermany.js';
import { readNpz } from './eval-npz.js';

/** A labelled test set as the service would see it. */
export interface TestSet {
  readonly description: string;
  readonly images: readonly InputImage[];
  /** 1 = the reported finding is present. */
  readonly labels: Uint8Array;
}

export interface EvalSpec {
  readonly modelId: string;
  /** Where in manifest.json the numbers for this test set are: `metrics` or `metrics.benchmark`. */
  readonly section: 'metrics' | 'metrics.benchmark';
  /** Loads the test set; `dataDir` is the shared data folder (shared/data). */
  readonly load: (dataDir: string) => Promise<TestSet>;
}

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
  { modelId: 'pneumonia-cxr-28', section: 'metrics', load: kermanyTestSet },
  { modelId: 'pneumonia-cxr-28', section: 'metrics.benchmark', load: medmnistTestSet('pneumoniamnist.npz', (l) => l === 1) },
  // BreastMNIST: label 0 = malignant (the reported finding), 1 = normal/benign.
  { modelId: 'breast-us-28', section: 'metrics', load: medmnistTestSet('breastmnist.npz', (l) => l === 0) },
  // RetinaMNIST grades 0–4; the reported finding is referable DR, grade ≥ 2.
  { modelId: 'retina-dr-28', section: 'metrics', load: medmnistTestSet('retinamnist.npz', (l) => l >= 2) },
];

export const METRIC_KEYS = ['auc', 'accuracy', 'sensitivity', 'specificity'] as const;
export type MetricKey = (typeof METRIC_KEYS)[number];

export interface MetricCheck {
  readonly key: MetricKey;
  readonly stated: number | undefined;
  readonly computed: number;
  readonly ok: boolean;
}

export interface CardCheck {
  readonly modelId: string;
  readonly section: string;
  readonly dataset: string;
  readonly threshold: number;
  readonly computed: BinaryMetrics | undefined;
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
  readonly output: { readonly labels: readonly { readonly key: string; readonly report: boolean; readonly threshold?: number }[] };
  readonly metrics: Record<string, unknown> & { readonly benchmark?: Record<string, unknown> };
}

async function readManifest(modelsDir: string, id: string): Promise<ManifestJson> {
  const { readFile } = await import('node:fs/promises');
  return JSON.parse(await readFile(path.join(modelsDir, id, 'manifest.json'), 'utf8')) as ManifestJson;
}

/** Submits images in chunks small enough for the engine's queue; returns one probability each. */
async function probabilitiesFor(
  engine: Awaited<ReturnType<typeof createInferenceEngine>>,
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
  const chunk = 256;
  const engine = await createInferenceEngine({
    modelsDir: options.modelsDir,
    maxBatch: 64,
    maxWaitMs: 1,
    queueCapacity: chunk * 2,
    intraOpNumThreads: 1,
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
        const reported = manifest.output.labels.filter((l) => l.report);
        const label = reported[0];
        if (reported.length !== 1 || label === undefined || label.threshold === undefined) {
          throw new Error('expected exactly one reported label with a threshold');
        }
        const stated = spec.section === 'metrics' ? manifest.metrics : manifest.metrics.benchmark;
        if (stated === undefined) throw new Error(`manifest has no ${spec.section}`);
        const set = await spec.load(options.dataDir);
        const p = await probabilitiesFor(engine, spec.modelId, label.key, set.images, chunk);
        const computed = binaryMetrics(set.labels, p, label.threshold);
        const metricChecks = METRIC_KEYS.map((key): MetricCheck => {
          const s = stated[key];
          const value = typeof s === 'number' ? s : undefined;
          return { key, stated: value, computed: computed[key], ok: value !== undefined && Math.abs(value - computed[key]) <= tolerance };
        });
        checks.push({
          ...base,
          dataset: `${set.description}; manifest ${spec.section}.dataset: ${typeof stated['dataset'] === 'string' ? stated['dataset'] : '(none)'}`,
          threshold: label.threshold,
          computed,
          checks: metricChecks,
          ok: metricChecks.every((c) => c.ok),
          seconds: (performance.now() - t0) / 1000,
        });
      } catch (err) {
        checks.push({
          ...base, dataset: '', threshold: Number.NaN, computed: undefined, checks: [],
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
    lines.push(`     n=${c.computed?.n ?? 0}, positives=${c.computed?.positives ?? 0}, threshold ${c.threshold}`);
    for (const m of c.checks) {
      const stated = m.stated === undefined ? 'missing' : m.stated.toFixed(4);
      const diff = m.stated === undefined ? '' : ` |diff| ${Math.abs(m.stated - m.computed).toFixed(5)}`;
      lines.push(`     ${m.ok ? ' ' : '!'} ${m.key.padEnd(11)} manifest ${stated}  pipeline ${m.computed.toFixed(4)}${diff}`);
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
