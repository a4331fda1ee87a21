import path from 'node:path';
import { createInferenceEngine } from '../../../src/inference/index.js';
import type { InferenceEngine } from '../../../src/inference/index.js';
import { occlusionGrid, occlusionSaliency } from '../../../src/inference/explain.js';
import { parseManifest } from '../../../src/inference/manifest.js';
import type { SegmentationManifest } from '../../../src/inference/manifest.js';
import { fieldOfView, segmentationResult } from '../../../src/inference/segment.js';
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
    expect(() => segmentationResult(m, dark, new Float32Array(plane), { width: 8, height: 8 })).toThrow(expect.objectContaining({ code: 'IMAGE_UNSUITABLE' }));
  });

  it('Refuses non-finite logits with INFERENCE_FAILED', () => {
    const logits = new Float32Array(plane);
    logits[5] = Number.NaN;
    expect(() => segmentationResult(m, new Float32Array(3 * plane).fill(0.5), logits, { width: 8, height: 8 })).toThrow(expect.objectContaining({ code: 'INFERENCE_FAILED' }));
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

  it('Credits exactly the pixels whose occlusion lowers the probability, in proportion', async () => {
    // tiny-mean on an 8×8 input: 1×1 patches, so the fall at a pixel is p(x) − p(x with that pixel 0).
    const tensor = new Float32Array(64);
    tensor[9] = 1; // one bright pixel
    tensor[20] = 0.5; // one half-bright pixel
    tensor[40] = -1; // one dark pixel: hiding it raises p, which is not evidence
    const logitsOf = (t: Float32Array): Float32Array => Float32Array.from([0, (4 * t.reduce((s, v) => s + v, 0)) / 64]);
    const p = (t: Float32Array): number => sigmoid(must(logitsOf(t)[1]));
    const batcher = { submit: (items: readonly Float32Array[]) => Promise.resolve(items.map((t) => ({ logits: logitsOf(t) }))) };
    const map = await occlusionSaliency({ manifest: mean, batcher }, tensor, 1, p(tensor));
    const fall = (i: number): number => {
      const t = tensor.slice();
      t[i] = 0;
      return p(tensor) - p(t);
    };
    expect(map).toMatchObject({ kind: 'saliency', width: 8, height: 8 });
    expect(map.values[9]).toBe(1);
    expect(map.values[20]).toBeCloseTo(fall(20) / fall(9), 6);
    expect(map.values[40]).toBe(0);
    expect(map.values[0]).toBe(0);
    expect(map.method).toMatch(/^Occlusion saliency: 1×1-pixel patches of the 8×8 model input, stride 1/);
    expect(map.method).toContain('not a lesion outline');
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
