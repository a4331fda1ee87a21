import path from 'node:path';
import { createInferenceEngine } from '../../../src/inference/index.js';
import type { InferenceEngine } from '../../../src/inference/index.js';
import { logOdds, occlusionGrid, occlusionSaliency } from '../../../src/inference/explain.js';
import { parseManifest } from '../../../src/inference/manifest.js';
import type { SegmentationManifest } from '../../../src/inference/manifest.js';
import { fieldOfView, segmentationResult } from '../../../src/inference/segment.js';
import { thrown } from '../dicom/support/thrown.js';
import { classifier, edit, fixtureGolden, fixtureManifest, FIXTURE_MODELS, makeImage, ModelsDir, must, sigmoid } from './support/models.js';

function segManifest(over?: (m: ReturnType<typeof fixtureManifest>) => ReturnType<typeof fixtureManifest>): SegmentationManifest {
  const json = fixtureManifest('tiny-seg');
  const m = parseManifest(over === undefined ? json : over(json), path.join(FIXTURE_MODELS, 'tiny-seg'));
  if (m.task !== 'segmentation') throw new Error('tiny-seg must parse as segmentation');
  return m;
}

/** tiny-seg: normalised x = 2v − 1, logit per pixel = 4 · mean over channels of x. */
const tinySegProbability = (v: number): number => sigmoid(4 * (2 * v - 1));

describe('segmentation manifest', () => {
  it('Parses the segmentation fixture with its classes and field-of-view rule', () => {
    const m = segManifest();
    expect(m.output.classes).toEqual([expect.objectContaining({ index: 0, key: 'bright', threshold: 0.5 })]);
    expect(m.output.fieldOfView).toEqual({ minIntensity: 0.1 });
  });

  it.each([
    ['softmax activation', (j: ReturnType<typeof fixtureManifest>) => edit(j, 'output.activation', 'softmax'), 'output.activation: must be sigmoid'],
    ['a class without codes', (j: ReturnType<typeof fixtureManifest>) => edit(j, 'output.classes.0.codes', []), 'output.classes[0].codes: a class needs at least one code'],
    ['a class index outside the output', (j: ReturnType<typeof fixtureManifest>) => edit(j, 'output.classes.0.index', 1), 'output.classes[0].index: 1 is outside the model output'],
    ['classification labels on a segmentation model', (j: ReturnType<typeof fixtureManifest>) => edit(j, 'output.labels', []), 'output: Unrecognized key: "labels"'],
    ['an unknown task', (j: ReturnType<typeof fixtureManifest>) => edit(j, 'task', 'detection'), 'task must be "classification" or "segmentation"'],
  ])('Refuses %s', (_name, change, message) => {
    expect(() => segManifest(change)).toThrow(message);
  });
});

describe('segmentationResult', () => {
  const m = segManifest();
  const plane = 64;

  it('Counts mask pixels only inside the field of view and scales the area by the resize ratio', () => {
    // Columns 0–1 dark (outside the field of view), 2–4 bright (vessel), 5–7 mid grey (tissue).
    const v = (x: number): number => (x < 2 ? 0 : x < 5 ? 0.9 : 0.3);
    const tensor = new Float32Array(3 * plane);
    const logits = new Float32Array(plane);
    for (let i = 0; i < plane; i++) {
      const x = i % 8;
      for (let c = 0; c < 3; c++) tensor[c * plane + i] = 2 * v(x) - 1;
      logits[i] = 4 * (2 * v(x) - 1);
    }
    expect(Array.from(fieldOfView(m, tensor)).filter((f) => f === 1)).toHaveLength(48);
    // A 80×40 source with 0.1 mm × 0.2 mm pixels: one model pixel covers (40/8·0.1)·(80/8·0.2) mm².
    const { measurements, map } = segmentationResult(m, tensor, logits, { width: 80, height: 40, pixelSpacingMm: [0.1, 0.2] });
    expect(measurements).toHaveLength(1);
    const [bright] = measurements;
    expect(bright?.fractionOfFieldOfView).toBeCloseTo(24 / 48, 12);
    expect(bright?.fieldOfViewFraction).toBeCloseTo(48 / 64, 12);
    expect(bright?.areaMm2).toBeCloseTo(24 * 0.5 * 2, 9);
    expect(map).toMatchObject({ kind: 'mask', width: 8, height: 8, threshold: 0.5 });
    // The map is the model's output everywhere; only the measurement is limited to the field of view.
    expect(map.values[0]).toBeCloseTo(tinySegProbability(0), 6);
    expect(map.values[2]).toBeCloseTo(tinySegProbability(0.9), 6);
  });

  it('Leaves the area out when the image states no pixel spacing', () => {
    const tensor = new Float32Array(3 * plane).fill(0.6);
    const { measurements } = segmentationResult(m, tensor, new Float32Array(plane).fill(2), { width: 8, height: 8 });
    expect(measurements[0]).not.toHaveProperty('areaMm2');
    expect(measurements[0]?.fractionOfFieldOfView).toBe(1);
  });

  it('Refuses a dark frame with IMAGE_UNSUITABLE instead of reporting a share of nothing', () => {
    const dark = new Float32Array(3 * plane).fill(-1);
    expect(thrown(() => segmentationResult(m, dark, new Float32Array(plane), { width: 8, height: 8 }))).toMatchObject({ code: 'IMAGE_UNSUITABLE' });
  });

  it('Refuses non-finite logits with INFERENCE_FAILED', () => {
    const logits = new Float32Array(plane);
    logits[5] = Number.NaN;
    expect(thrown(() => segmentationResult(m, new Float32Array(3 * plane).fill(0.5), logits, { width: 8, height: 8 }))).toMatchObject({ code: 'INFERENCE_FAILED' });
  });
});

describe('occlusionGrid', () => {
  it.each([
    [28, 28, 4, 2, 13],
    [224, 224, 32, 16, 13],
    [8, 8, 1, 1, 8],
    [565, 584, 81, 41, 13],
  ])('%i×%i → patch %i, stride %i, %i positions along x, the last flush with the edge', (w, h, patch, stride, nx) => {
    const g = occlusionGrid(w, h);
    expect(g).toMatchObject({ patch, stride });
    expect(g.xs).toHaveLength(nx);
    expect(must(g.xs[g.xs.length - 1]) + patch).toBe(w);
    expect(must(g.ys[g.ys.length - 1]) + patch).toBe(h);
  });
});

describe('occlusionSaliency', () => {
  const mean = classifier(parseManifest(fixtureManifest('tiny-mean'), path.join(FIXTURE_MODELS, 'tiny-mean')));

  it('Credits exactly the pixels whose occlusion lowers the log-odds, in proportion', async () => {
    // tiny-mean on an 8×8 input: logits [0, 4·mean], so the log-odds are 4·sum/64 and hiding one
    // pixel (1×1 patches) lowers them by 4·x/64 — linear in the pixel, whatever the probability.
    const tensor = new Float32Array(64);
    tensor[9] = 1; // one bright pixel
    tensor[20] = 0.5; // one half-bright pixel
    tensor[40] = -1; // one dark pixel: hiding it raises the log-odds, which is not evidence
    const logitsOf = (t: Float32Array): Float32Array => Float32Array.from([0, (4 * t.reduce((s, v) => s + v, 0)) / 64]);
    const batcher = { submit: (items: readonly Float32Array[]) => Promise.resolve(items.map((t) => ({ logits: logitsOf(t) }))) };
    const map = await occlusionSaliency({ manifest: mean, batcher }, tensor, 1, logitsOf(tensor));
    expect(map).toMatchObject({ kind: 'saliency', width: 8, height: 8 });
    expect(map.values[9]).toBe(1);
    expect(map.values[20]).toBeCloseTo(0.5, 6);
    expect(map.values[40]).toBe(0);
    expect(map.values[0]).toBe(0);
    expect(map.method).toMatch(/^Occlusion saliency: 1×1-pixel patches of the 8×8 model input, stride 1/);
    expect(map.method).toContain('not a lesion outline');
  });

  it('Still explains a saturated finding, and interpolates smoothly between patch centres', async () => {
    // 28×28 input → 4×4 patches, stride 2. Logits so large that p rounds to 1 in float64.
    const m28 = classifier(parseManifest({ ...fixtureManifest('tiny-mean'), input: { ...(fixtureManifest('tiny-mean').input as object), width: 28, height: 28 } }, path.join(FIXTURE_MODELS, 'tiny-mean')));
    const tensor = new Float32Array(28 * 28);
    for (let y = 10; y < 14; y++) for (let x = 10; x < 14; x++) tensor[y * 28 + x] = 1;
    const logitsOf = (t: Float32Array): Float32Array => Float32Array.from([0, 100 + 10 * t.reduce((s, v) => s + v, 0)]);
    const batcher = { submit: (items: readonly Float32Array[]) => Promise.resolve(items.map((t) => ({ logits: logitsOf(t) }))) };
    const map = await occlusionSaliency({ manifest: m28, batcher }, tensor, 1, logitsOf(tensor));
    expect(Math.max(...map.values)).toBe(1);
    // Largest inside the bright square, zero far from it, and no jumps between neighbours.
    expect(map.values[12 * 28 + 12]).toBeGreaterThan(0.8);
    expect(map.values[0]).toBe(0);
    let step = 0;
    for (let y = 0; y < 28; y++) for (let x = 1; x < 28; x++) step = Math.max(step, Math.abs(must(map.values[y * 28 + x]) - must(map.values[y * 28 + x - 1])));
    expect(step).toBeLessThan(0.5);
  });
});

describe('logOdds', () => {
  it('Stays finite where the probability rounds to 1, and honours the temperature', () => {
    expect(logOdds({ activation: 'softmax', temperature: 1 }, [0, 50], 1)).toBeCloseTo(50, 9);
    expect(logOdds({ activation: 'softmax', temperature: 2 }, [1, 2, 3], 2)).toBeCloseTo(1.5 - Math.log(Math.exp(0.5) + Math.exp(1)), 12);
    expect(logOdds({ activation: 'sigmoid', temperature: 2 }, [4, -6], 1)).toBe(-3);
    expect(thrown(() => logOdds({ activation: 'sigmoid', temperature: 1 }, [Number.NaN], 0))).toMatchObject({ code: 'INFERENCE_FAILED' });
  });
});

describe('engine with a segmentation model and saliency', () => {
  let models: ModelsDir;
  let engine: InferenceEngine | undefined;
  beforeEach(() => {
    models = new ModelsDir().add('tiny-seg', { from: 'tiny-seg' }).add('tiny-mean', { from: 'tiny-mean' });
  });
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
    models.cleanup();
  });

  it('Runs the segmentation ONNX through onnxruntime and matches the logits torch computed', async () => {
    engine = await createInferenceEngine({ modelsDir: models.dir, maxWaitMs: 0 });
    expect(engine.models().find((m) => m.id === 'tiny-seg')).toMatchObject({ task: 'segmentation', findings: [{ key: 'bright', display: 'Bright region' }] });
    const golden = must(fixtureGolden('tiny-seg').cases[0]);
    // The golden input is already normalised CHW; undo the normalisation to feed it as an image.
    const img = makeImage(8, 8, 3, (x, y, c) => (must(golden.input[c * 64 + y * 8 + x]) + 1) / 2);
    const r = await engine.run('tiny-seg', img);
    expect(r.findings).toEqual([]);
    const map = must(r.map);
    golden.logits.slice(0, 64).forEach((z, i) => {
      expect(map.values[i]).toBeCloseTo(sigmoid(z), 5);
    });
  });

  it('Attaches a saliency map to a flagged finding only, under the default policy', async () => {
    engine = await createInferenceEngine({ modelsDir: models.dir, maxWaitMs: 0 });
    const left = makeImage(8, 8, 1, (x) => (x < 4 ? 1 : 0.5));
    const flagged = await engine.run('tiny-mean', left);
    expect(flagged.findings[0]?.interpretation).toBe('positive');
    const map = must(flagged.map);
    expect(map.kind).toBe('saliency');
    // Bright left half carries the evidence; the mid-grey right half normalises to 0 and none.
    expect(Math.min(...Array.from({ length: 8 }, (_, y) => must(map.values[y * 8])))).toBeGreaterThan(0.9);
    expect(Math.max(...Array.from({ length: 8 }, (_, y) => must(map.values[y * 8 + 7])))).toBe(0);
    const normal = await engine.run('tiny-mean', makeImage(8, 8, 1, () => 0.2));
    expect(normal.findings[0]?.interpretation).toBe('negative');
    expect(normal.map).toBeUndefined();
  });

  it('Never explains when the policy says never', async () => {
    engine = await createInferenceEngine({ modelsDir: models.dir, maxWaitMs: 0, saliency: 'never' });
    const r = await engine.run('tiny-mean', makeImage(8, 8, 1, () => 1));
    expect(r.findings[0]?.interpretation).toBe('positive');
    expect(r.map).toBeUndefined();
  });

  it('Keeps the finding and logs when the queue has no room for the explanation', async () => {
    const logs: string[] = [];
    engine = await createInferenceEngine({ modelsDir: models.dir, maxWaitMs: 0, queueCapacity: 4, log: (_l, msg) => logs.push(msg) });
    const r = await engine.run('tiny-mean', makeImage(8, 8, 1, () => 1));
    expect(r.findings[0]?.interpretation).toBe('positive');
    expect(r.map).toBeUndefined();
    expect(logs).toContain('saliency map skipped');
  });
});
