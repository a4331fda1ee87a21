/**
 * How well each classifier's unfamiliar-image check (models/<id>/ood.json) tells its own kind of
 * image from other kinds, measured through the service's inference engine (createInferenceEngine
 * → run: the same resize, channel conversion, normalisation, ONNX session and distance as the
 * service). In-distribution: the model's own test split (the manifest's first `evaluation`
 * entry). Out of distribution: the other data sets in the data folder, as whole images.
 *
 * Numbers: AUROC of the distance (out-of-distribution = positive) with a 95% percentile
 * bootstrap interval (each group resampled on its own, mulberry32 seed 12345, 2,000 resamples),
 * the share of each set flagged at the shipped threshold, and the share of the in-distribution
 * test images flagged (false alarms), each with its interval.
 */
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { evaluationEngine } from './engine.js';
import type { InferenceEngine, InputImage } from '../../src/inference/index.js';
import { rocAuc } from './binary-metrics.js';
import { quantileSorted, shareWithInterval } from './calibration-metrics.js';
import { mulberry32 } from '../prng.js';
import type { Share } from './calibration-metrics.js';
import { readRgbTiff } from './drive.js';
import { jpegDecoder, toGrey } from './jpeg.js';
import { readNih } from './nih.js';
import { readNpz } from './npz.js';
import { TestSetSchema, resolveTestSet } from './test-sets.js';

/** The file written in each model folder. */
export const OOD_RESULT_FILE = 'ood-metrics.json';

/** How an image set relates to a model: another kind of image, a near kind, or the same kind from elsewhere. */
export type OodRole = 'other-modality' | 'near' | 'same-kind-other-source';

/** An image set the check is measured against. */
export interface OodSetSpec {
  readonly key: string;
  readonly description: string;
  /** Path inside the data folder that must exist. */
  readonly dataPath: string;
  readonly read: (dataDir: string) => Promise<InputImage[]>;
}

async function medmnistTest(dataDir: string, file: string): Promise<InputImage[]> {
  const npz = await readNpz(path.join(dataDir, 'medmnist', file));
  const x = npz.get('test_images');
  if (x === undefined || !(x.data instanceof Uint8Array)) throw new Error(`${file}: test_images (uint8) not found`);
  const bytes = x.data;
  const [n = 0, h = 0, w = 0, c = 1] = x.shape;
  const per = h * w * c;
  return Array.from({ length: n }, (_, i) => ({ width: w, height: h, channels: c as 1 | 3, data: Float32Array.from(bytes.subarray(i * per, (i + 1) * per), (v) => v / 255) }));
}

async function driveImages(dataDir: string): Promise<InputImage[]> {
  const out: InputImage[] = [];
  for (const part of ['training', 'testing']) {
    const dir = path.join(dataDir, 'drive', part, 'images');
    for (const f of (await readdir(dir)).filter((n) => n.endsWith('.tif')).sort()) out.push(readRgbTiff(await readFile(path.join(dir, f))));
  }
  return out;
}

async function kermanyTest(dataDir: string): Promise<InputImage[]> {
  const decode = await jpegDecoder();
  const out: InputImage[] = [];
  for (const folder of ['NORMAL', 'PNEUMONIA']) {
    const dir = path.join(dataDir, 'kermany-cxr-224', 'test', folder);
    for (const f of (await readdir(dir)).filter((n) => n.endsWith('.jpeg')).sort()) out.push(toGrey(decode(await readFile(path.join(dir, f)))));
  }
  return out;
}

/** Every image set the tool knows, by key. */
export const OOD_SETS: Readonly<Record<string, OodSetSpec>> = {
  'pneumoniamnist-test': { key: 'pneumoniamnist-test', description: 'PneumoniaMNIST test split: paediatric chest radiographs, 28x28 grey (n=624)', dataPath: 'medmnist/pneumoniamnist.npz', read: (d) => medmnistTest(d, 'pneumoniamnist.npz') },
  'kermany-test': { key: 'kermany-test', description: 'Kermany ChestXRay2017 test JPEGs: paediatric chest radiographs, 224x224 grey (n=624)', dataPath: 'kermany-cxr-224/test', read: kermanyTest },
  'nih-adult': { key: 'nih-adult', description: 'NIH ChestX-ray14 sample: frontal chest radiographs, 602 adults and 19 under 18, 256x256 grey (n=621)', dataPath: 'nih-cxr-621/nih_cxr_621_256.npz', read: async (d) => [...(await readNih(d)).images] },
  'breastmnist-test': { key: 'breastmnist-test', description: 'BreastMNIST test split: breast ultrasound, 28x28 grey (n=156)', dataPath: 'medmnist/breastmnist.npz', read: (d) => medmnistTest(d, 'breastmnist.npz') },
  'retinamnist-test': { key: 'retinamnist-test', description: 'RetinaMNIST test split: colour fundus photographs, 28x28 RGB (n=400)', dataPath: 'medmnist/retinamnist.npz', read: (d) => medmnistTest(d, 'retinamnist.npz') },
  drive: { key: 'drive', description: 'DRIVE training and test photographs: colour fundus, 565x584 RGB (n=40; numbers only, images never stored)', dataPath: 'drive', read: driveImages },
};

/** Which sets each classifier is measured against, and how each relates to it. */
export const OOD_PLAN: Readonly<Record<string, readonly { readonly set: string; readonly role: OodRole }[]>> = {
  'pneumonia-cxr-224': [
    { set: 'breastmnist-test', role: 'other-modality' },
    { set: 'retinamnist-test', role: 'other-modality' },
    { set: 'drive', role: 'other-modality' },
    { set: 'nih-adult', role: 'near' },
  ],
  'pneumonia-cxr-28': [
    { set: 'breastmnist-test', role: 'other-modality' },
    { set: 'retinamnist-test', role: 'other-modality' },
    { set: 'drive', role: 'other-modality' },
    { set: 'nih-adult', role: 'near' },
  ],
  'breast-us-28': [
    { set: 'pneumoniamnist-test', role: 'other-modality' },
    { set: 'kermany-test', role: 'other-modality' },
    { set: 'nih-adult', role: 'other-modality' },
    { set: 'retinamnist-test', role: 'other-modality' },
    { set: 'drive', role: 'other-modality' },
  ],
  'retina-dr-28': [
    { set: 'pneumoniamnist-test', role: 'other-modality' },
    { set: 'kermany-test', role: 'other-modality' },
    { set: 'nih-adult', role: 'other-modality' },
    { set: 'breastmnist-test', role: 'other-modality' },
    { set: 'drive', role: 'same-kind-other-source' },
  ],
};

/** The numbers of one out-of-distribution set against the in-distribution test images. */
export interface OodSetResult {
  readonly set: string;
  readonly role: OodRole;
  readonly description: string;
  readonly n: number;
  readonly auroc: number;
  readonly auroc95: readonly [number, number];
  /** Share of the set above the threshold: flagged, as the card would say. */
  readonly flagged: Share;
  readonly medianDistance: number;
}

/** One model's evaluation. */
export interface OodEvaluation {
  readonly model: string;
  readonly version: string;
  readonly command: string;
  readonly pipeline: string;
  readonly measuredOn: string;
  readonly method: string;
  readonly threshold: number;
  readonly thresholdRule: string;
  readonly bootstrap: string;
  readonly inDistribution: {
    readonly description: string;
    readonly n: number;
    readonly falseAlarms: Share;
    /** False alarms among the test images without and with the reported finding. */
    readonly falseAlarmsByReference: { readonly findingAbsent: Share; readonly findingPresent: Share };
    readonly medianDistance: number;
  };
  readonly sets: readonly OodSetResult[];
  /** The TypeScript distances of the first test images against ood_fit.py's (Python, onnxruntime). */
  readonly pythonAgreement: { readonly images: number; readonly maxAbsDifference: number; readonly maxRelativeDifference: number; readonly pythonFlaggedShare: number };
}

export interface OodOptions {
  readonly modelsDir: string;
  readonly dataDir: string;
  readonly modelIds: readonly string[];
  readonly resamples?: number;
  readonly seed?: number;
  readonly command: string;
}

interface OodFile {
  readonly threshold: number;
  readonly thresholdRule: string;
  readonly check: { readonly distances: readonly number[]; readonly flaggedShare: number };
}

interface ManifestForOod {
  readonly id: string;
  readonly version: string;
  readonly evaluation?: readonly { readonly testSet: unknown }[];
}

const CHUNK = 64;

/** Distances of every image through the engine. */
async function distancesOf(engine: InferenceEngine, modelId: string, images: readonly InputImage[]): Promise<number[]> {
  const out: number[] = [];
  for (let start = 0; start < images.length; start += CHUNK) {
    const results = await Promise.all(images.slice(start, start + CHUNK).map((img) => engine.run(modelId, img)));
    for (const r of results) {
      if (r.unfamiliar === undefined) throw new Error(`${modelId}: the engine returned no unfamiliar-image verdict (no ood.json, or no "features" output in model.onnx)`);
      out.push(r.unfamiliar.distance);
    }
  }
  return out;
}

/**
 * AUROC of out-of-distribution (positive) against in-distribution by distance, with a percentile
 * bootstrap interval that resamples each group on its own.
 */
export function aurocWithInterval(inDist: readonly number[], outDist: readonly number[], resamples = 2000, seed = 12345): { auroc: number; auroc95: [number, number] } {
  const labels = [...inDist.map(() => 0), ...outDist.map(() => 1)];
  const auroc = rocAuc(labels, [...inDist, ...outDist]);
  const next = mulberry32(seed);
  const draws: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const a = inDist.map(() => inDist[Math.floor(next() * inDist.length)] as number);
    const b = outDist.map(() => outDist[Math.floor(next() * outDist.length)] as number);
    draws.push(rocAuc(labels, [...a, ...b]));
  }
  draws.sort((x, y) => x - y);
  return { auroc, auroc95: [quantileSorted(draws, 0.025), quantileSorted(draws, 0.975)] };
}

function median(v: readonly number[]): number {
  return quantileSorted([...v].sort((a, b) => a - b), 0.5);
}

function r4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

function roundShare(s: Share): Share {
  return { n: s.n, count: s.count, share: s.share === null ? null : r4(s.share), share95: s.share95 === null ? null : [r4(s.share95[0]), r4(s.share95[1])] };
}

function hardware(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${os.cpus().length}-core ${cpu} (CPU), Node ${process.version}`;
}

/** Runs the check of every named model on its test split and on its out-of-distribution sets. */
export async function evaluateOod(options: OodOptions): Promise<OodEvaluation[]> {
  const resamples = options.resamples ?? 2000;
  const seed = options.seed ?? 12345;
  const engine = await evaluationEngine(options.modelsDir, options.modelIds, { maxBatch: 32, chunk: CHUNK });
  const cache = new Map<string, InputImage[]>();
  const imagesOf = async (key: string): Promise<InputImage[]> => {
    const spec = OOD_SETS[key];
    if (spec === undefined) throw new Error(`unknown image set ${key}`);
    let images = cache.get(key);
    if (images === undefined) {
      images = await spec.read(options.dataDir);
      cache.set(key, images);
    }
    return images;
  };
  const out: OodEvaluation[] = [];
  try {
    for (const id of options.modelIds) {
      const status = engine.status().models.find((s) => s.id === id);
      if (status?.status !== 'ready') throw new Error(`${id}: model not ready: ${status?.reason ?? 'no such model folder'}`);
      const folder = path.join(options.modelsDir, id);
      const manifest = JSON.parse(await readFile(path.join(folder, 'manifest.json'), 'utf8')) as ManifestForOod;
      const ood = JSON.parse(await readFile(path.join(folder, 'ood.json'), 'utf8')) as OodFile;
      const first = manifest.evaluation?.[0];
      if (first === undefined) throw new Error(`${id}: the manifest has no evaluation list: no test split to measure against`);
      const testSet = resolveTestSet(TestSetSchema.parse(first.testSet), options.dataDir);
      if (testSet.task !== 'classification') throw new Error(`${id}: its first test set is not a classification test set`);
      const test = await testSet.read();
      const inDist = await distancesOf(engine, id, test.images);
      const boot = { resamples, seed };
      const sets: OodSetResult[] = [];
      for (const { set, role } of OOD_PLAN[id] ?? []) {
        const distances = await distancesOf(engine, id, await imagesOf(set));
        const { auroc, auroc95 } = aurocWithInterval(inDist, distances, resamples, seed);
        sets.push({
          set,
          role,
          description: OOD_SETS[set]?.description ?? set,
          n: distances.length,
          auroc: r4(auroc),
          auroc95: [r4(auroc95[0]), r4(auroc95[1])],
          flagged: roundShare(shareWithInterval(distances.map((d) => d > ood.threshold), boot)),
          medianDistance: r4(median(distances)),
        });
      }
      const py = ood.check.distances;
      const diffs = py.map((d, i) => Math.abs((inDist[i] as number) - d));
      out.push({
        model: id,
        version: manifest.version,
        command: options.command,
        pipeline: 'whole images, values in [0, 1] → createInferenceEngine → run (the service\'s resize, channel conversion, normalisation, ONNX session and unfamiliar-image distance); 28x28 images reach a 224x224 model enlarged (the service would refuse them by its minimum-size rule first)',
        measuredOn: hardware(),
        method: 'Mahalanobis distance of the penultimate-layer features to the nearest training class mean, shared Ledoit-Wolf covariance (models/<id>/ood.json, models/_shared/ood_fit.py)',
        threshold: ood.threshold,
        thresholdRule: ood.thresholdRule,
        bootstrap: `95% percentile bootstrap, ${resamples} resamples, each group resampled on its own, mulberry32 seed ${seed} restarted per set`,
        inDistribution: {
          description: test.description,
          n: inDist.length,
          falseAlarms: roundShare(shareWithInterval(inDist.map((d) => d > ood.threshold), boot)),
          falseAlarmsByReference: {
            findingAbsent: roundShare(shareWithInterval(inDist.filter((_, i) => test.labels[i] === 0).map((d) => d > ood.threshold), boot)),
            findingPresent: roundShare(shareWithInterval(inDist.filter((_, i) => test.labels[i] === 1).map((d) => d > ood.threshold), boot)),
          },
          medianDistance: r4(median(inDist)),
        },
        sets,
        pythonAgreement: {
          images: py.length,
          maxAbsDifference: Number(Math.max(...diffs).toPrecision(3)),
          maxRelativeDifference: Number(Math.max(...diffs.map((d, i) => d / Math.max(py[i] as number, 1e-12))).toPrecision(3)),
          pythonFlaggedShare: ood.check.flaggedShare,
        },
      });
    }
  } finally {
    await engine.close();
  }
  return out;
}

function pct(s: Share): string {
  return s.share === null || s.share95 === null ? '—' : `${(s.share * 100).toFixed(1)}% (${(s.share95[0] * 100).toFixed(1)}–${(s.share95[1] * 100).toFixed(1)}%)`;
}

/** A plain-text summary, one block per model. */
export function formatOod(results: readonly OodEvaluation[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${r.model} ${r.version}: threshold ${r.threshold} (${r.thresholdRule})`);
    const { falseAlarms, falseAlarmsByReference: by } = r.inDistribution;
    lines.push(`  in distribution: ${r.inDistribution.description}: flagged (false alarms) ${falseAlarms.count}/${r.inDistribution.n} = ${pct(falseAlarms)}; finding absent ${by.findingAbsent.count}/${by.findingAbsent.n} = ${pct(by.findingAbsent)}, present ${by.findingPresent.count}/${by.findingPresent.n} = ${pct(by.findingPresent)}; median distance ${r.inDistribution.medianDistance}`);
    for (const s of r.sets) {
      lines.push(`  ${s.set.padEnd(20)} ${s.role.padEnd(22)} n=${String(s.n).padStart(3)}  AUROC ${s.auroc.toFixed(3)} (${s.auroc95[0].toFixed(3)}–${s.auroc95[1].toFixed(3)})  flagged ${pct(s.flagged)}  median ${s.medianDistance}`);
    }
    lines.push(`  TypeScript vs Python distance, first ${r.pythonAgreement.images} test images: max |diff| ${r.pythonAgreement.maxAbsDifference} (relative ${r.pythonAgreement.maxRelativeDifference}); Python flagged share ${r.pythonAgreement.pythonFlaggedShare}`);
  }
  return lines.join('\n');
}
