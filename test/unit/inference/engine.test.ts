import { createInferenceEngine } from '../../../src/inference/index.js';
import type { BatchEvent, InferenceEngine, InferenceEngineOptions, ModelAccepts, ModelResult } from '../../../src/inference/index.js';
import type { ModelProfile } from '../../../src/analysis/types.js';
import { makeImage, ModelsDir, must, noiseImage, sigmoid } from './support/models.js';
import type { Image, WindowingSpec } from '../../../src/image/index.js';

/** Compile-time check that a value of type A is accepted where B is asked. */
function assignable<B>(value: B): B {
  return value;
}

const constant = (v: number, size = 8): Image => makeImage(size, size, 1, () => v);
/** tiny-mean: normalised mean m = 2·mean − 1, logits [0, 4m], softmax → p = σ(4m). */
const tinyMeanProbability = (pixelMean: number): number => sigmoid(4 * (2 * pixelMean - 1));

describe('createInferenceEngine', () => {
  let models: ModelsDir;
  let engine: InferenceEngine | undefined;
  const batches: (BatchEvent & { modelId: string })[] = [];

  async function start(over: Partial<InferenceEngineOptions> = {}): Promise<InferenceEngine> {
    // No saliency by default: these tests count batches, and an explanation adds ~170 runs.
    engine = await createInferenceEngine({ modelsDir: models.dir, maxWaitMs: 0, saliency: 'never', onBatch: (e) => batches.push(e), ...over });
    return engine;
  }

  beforeEach(() => {
    batches.length = 0;
    models = new ModelsDir()
      .add('tiny-mean', { from: 'tiny-mean' })
      .add('tiny-mean-b1', { from: 'tiny-mean-b1' })
      .add('tiny-rgb', { from: 'tiny-rgb' })
      .add('broken', { from: 'tiny-mean', onnx: 'corrupt' });
  });
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
    models.cleanup();
  });

  it('Gives the exact probability the tiny model defines, for any image size', async () => {
    const e = await start();
    for (const v of [0.25, 0.5, 0.75]) {
      const r = await e.run('tiny-mean', constant(v));
      expect(r.findings[0]?.probability).toBeCloseTo(tinyMeanProbability(v), 6);
    }
    // 224×224 noise → 8×8 by exact 28×28 block means, which keep the image mean.
    const big = noiseImage(224, 224, 1, 5);
    const pixelMean = big.data.reduce((s, v) => s + v, 0) / big.data.length;
    const r = await e.run('tiny-mean', big);
    expect(r.findings[0]?.probability).toBeCloseTo(tinyMeanProbability(pixelMean), 5);
  });

  it('Turns probabilities into findings with interpretation, review flag and timing', async () => {
    const e = await start();
    const at = async (v: number) => (await e.run('tiny-mean', constant(v))).findings[0];
    expect(await at(0.75)).toMatchObject({ key: 'finding', interpretation: 'positive', needsReview: false, urgency: 'warning' });
    expect(await at(0.5)).toMatchObject({ probability: 0.5, interpretation: 'positive', needsReview: true });
    expect(await at(0.25)).toMatchObject({ interpretation: 'negative', needsReview: false });
    const r = await e.run('tiny-mean', constant(0.75));
    expect(r.model).toMatchObject({ id: 'tiny-mean', version: '0.0.1', templates: { card: 'classification-card', report: 'classification-report' } });
    expect(r.inferenceMs).toBeGreaterThanOrEqual(0);
  });

  it('Feeds colour and grey images through the channel conversion the manifest asks for', async () => {
    const e = await start();
    // tiny-rgb: logits[c] = mean of normalised channel c, sigmoid at temperature 2.
    const [mean, std] = [[0.485, 0.456, 0.406], [0.229, 0.224, 0.225]] as const;
    const expected = (values: readonly number[]): number[] => values.map((v, c) => sigmoid((v - must(mean[c])) / must(std[c]) / 2));
    const probs = (r: ModelResult): number[] => r.findings.map((f) => f.probability);
    const closeTo = (actual: number[], wanted: number[]): void => {
      expect(actual).toHaveLength(wanted.length);
      actual.forEach((v, i) => {
        expect(v).toBeCloseTo(must(wanted[i]), 5);
      });
    };
    closeTo(probs(await e.run('tiny-rgb', makeImage(16, 16, 3, (_x, _y, c) => must([0.9, 0.5, 0.1][c])))), expected([0.9, 0.5, 0.1]));
    closeTo(probs(await e.run('tiny-rgb', constant(0.3, 4))), expected([0.3, 0.3, 0.3]));
    // A colour image for a grey model goes through BT.601 luma.
    const luma = 0.299 * 0.9 + 0.587 * 0.5 + 0.114 * 0.1;
    const toGrey = await e.run('tiny-mean', makeImage(8, 8, 3, (_x, _y, c) => must([0.9, 0.5, 0.1][c])));
    expect(toGrey.findings[0]?.probability).toBeCloseTo(tinyMeanProbability(luma), 5);
  });

  it('Shares batches between concurrent runs and gives the same results as sequential runs', async () => {
    const e = await start({ maxBatch: 4 });
    const images = Array.from({ length: 10 }, (_, i) => noiseImage(24, 24, 1, i + 1));
    const sequential: ModelResult[] = [];
    for (const img of images) sequential.push(await e.run('tiny-mean', img));
    expect(batches.map((b) => b.size)).toEqual(new Array(10).fill(1));
    batches.length = 0;

    const concurrent = await Promise.all(images.map((img) => e.run('tiny-mean', img)));
    expect(batches.map((b) => [b.modelId, b.size, b.ok])).toEqual([['tiny-mean', 4, true], ['tiny-mean', 4, true], ['tiny-mean', 2, true]]);
    expect(concurrent.map((r) => r.findings[0]?.probability)).toEqual(sequential.map((r) => r.findings[0]?.probability));
  });

  it('Runs a model whose batch axis is fixed at 1 one image at a time', async () => {
    const e = await start({ maxBatch: 4 });
    const results = await Promise.all([0.2, 0.4, 0.6].map((v) => e.run('tiny-mean-b1', constant(v))));
    expect(batches.map((b) => b.size)).toEqual([1, 1, 1]);
    results.forEach((r, i) => {
      expect(r.findings[0]?.probability).toBeCloseTo(tinyMeanProbability(must([0.2, 0.4, 0.6][i])), 6);
    });
  });

  it('Refuses runs beyond the queue capacity with INFERENCE_BUSY and serves the rest', async () => {
    const e = await start({ maxBatch: 2, queueCapacity: 3 });
    // Two start at once (maxBatch reached), three wait, the sixth does not fit.
    const runs = Array.from({ length: 6 }, () => e.run('tiny-mean', constant(0.75)).then(() => 'ok', (err: unknown) => err));
    const outcomes = await Promise.all(runs);
    expect(outcomes.slice(0, 5)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(outcomes[5]).toMatchObject({ name: 'AppError', code: 'INFERENCE_BUSY', status: 503 });
  });

  it('Refuses unknown and unavailable models with MODEL_UNAVAILABLE', async () => {
    const e = await start();
    await expect(e.run('nope', constant(0.5))).rejects.toMatchObject({ code: 'MODEL_UNAVAILABLE', message: 'Model nope is not available: it is not loaded (see /readyz).' });
    await expect(e.run('broken', constant(0.5))).rejects.toMatchObject({ code: 'MODEL_UNAVAILABLE' });
  });

  it('Reports readiness and each model\'s state for /readyz', async () => {
    const e = await start();
    expect(e.ready()).toBe(true);
    const status = e.status();
    expect(status.ready).toBe(true);
    expect(status.models.map((m) => [m.id, m.status])).toEqual([
      ['broken', 'unavailable'],
      ['tiny-mean', 'ready'],
      ['tiny-mean-b1', 'ready'],
      ['tiny-rgb', 'ready'],
    ]);
    expect(status.models[0]?.reason).toMatch(/^onnxruntime could not load model\.onnx: /);
  });

  it('Describes ready models as plain data: accepts, windowing, input size, findings, metrics', async () => {
    const e = await start();
    const described = e.models();
    expect(described.map((m) => m.id)).toEqual(['tiny-mean', 'tiny-mean-b1', 'tiny-rgb']);
    const rgb = described[2];
    expect(rgb).toEqual({
      id: 'tiny-rgb',
      version: '0.0.1',
      name: 'Tiny test model tiny-rgb',
      manufacturer: 'imaging-cds tests',
      task: 'classification',
      intendedUse: 'Unit tests only. Its output is a fixed function of the mean pixel.',
      templates: { card: 'classification-card', report: 'classification-report' },
      accepts: { modalities: ['CR', 'DX'], bodyParts: ['CHEST'], viewPositions: ['PA', 'AP'], missingViewPosition: 'accept', photometricInterpretations: [], minRows: 1, minColumns: 1 },
      input: { width: 4, height: 4, channels: 3, windowing: { kind: 'fixed', center: 40, width: 400 }, resize: 'area' },
      findings: [{ key: 'red', display: 'RED' }, { key: 'green', display: 'GREEN' }, { key: 'blue', display: 'BLUE' }],
      metrics: { dataset: 'none (synthetic test model)' },
    });
    expect(JSON.parse(JSON.stringify(described))).toStrictEqual(described); // plain data: survives JSON unchanged
  });

  it('Is not ready when no model loads, and refuses work once closed', async () => {
    models.cleanup();
    models = new ModelsDir().add('broken', { from: 'tiny-mean', onnx: 'missing' });
    const e = await start();
    expect(e.ready()).toBe(false);
    await e.close();
    await e.close(); // idempotent
    expect(e.status().ready).toBe(false);
    await expect(e.run('broken', constant(0.5))).rejects.toMatchObject({ code: 'MODEL_UNAVAILABLE', message: 'Model broken is not available: the inference engine is closed.' });
  });

  it('Takes the dicom layer\'s images and windowing as they are (types stay compatible)', () => {
    // Compile-time: inference repeats these shapes so it need not import dicom; they must not drift.
    const display: Image = { width: 1, height: 1, channels: 1, data: new Float32Array(1) };
    const spec: WindowingSpec = { kind: 'fixed', center: 1, width: 2 };
    const back: Image = assignable<Image>(display);
    const windowing: WindowingSpec = assignable<WindowingSpec>(spec);
    const accepts: ModelProfile['accepts'] = assignable<ModelAccepts>({ modalities: ['DX'], bodyParts: [], viewPositions: [], missingViewPosition: 'accept', photometricInterpretations: [], minRows: 1, minColumns: 1 });
    expect([back, windowing, accepts]).toHaveLength(3);
  });
});
