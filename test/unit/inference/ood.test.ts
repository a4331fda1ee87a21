/**
 * The unfamiliar-image check: parsing ood.json, the Mahalanobis distance, the verdict on a
 * classifier's result, and a model without the check working as before. The shipped models'
 * distances are compared with the Python fit's (models/<id>/ood.json `check`) when the test
 * data is there.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInferenceEngine } from '../../../src/inference/index.js';
import type { InferenceEngine } from '../../../src/inference/index.js';
import { OodSpecError, mahalanobisDistance, parseOodSpec, unfamiliarVerdict } from '../../../src/inference/ood.js';
import { resolveDataDir } from '../../../tools/eval/data-dir.js';
import { readMedmnist } from '../../../tools/eval/medmnist.js';
import { makeImage, ModelsDir, recordingLog } from './support/models.js';

/** A 2-dimensional check: class means (0, 0) and (10, 0), precision diag(1, 4), threshold 3. */
function spec(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemaVersion: 1,
    method: 'mahalanobis',
    output: 'features',
    featureDimension: 2,
    classes: [{ key: 'normal', mean: [0, 0] }, { key: 'abnormal', mean: [10, 0] }],
    precision: [[1, 0], [0, 4]],
    threshold: 3,
    fit: { note: 'fields the runtime does not read are kept for people' },
    ...over,
  };
}

describe('parseOodSpec', () => {
  it('reads the means, the precision (row-major) and the threshold', () => {
    const check = parseOodSpec(JSON.stringify(spec()));
    expect(check.dimension).toBe(2);
    expect(check.output).toBe('features');
    expect(check.means.map((m) => [...m])).toEqual([[0, 0], [10, 0]]);
    expect([...check.precision]).toEqual([1, 0, 0, 4]);
    expect(check.threshold).toBe(3);
  });

  it.each([
    ['not JSON', '{"schemaVersion": 1,', /not valid JSON/],
    ['another method', JSON.stringify(spec({ method: 'knn' })), /method/],
    ['a mean of the wrong length', JSON.stringify(spec({ classes: [{ key: 'a', mean: [0, 0, 0] }] })), /classes\.0\.mean has 3 values, featureDimension is 2/],
    ['a precision of the wrong size', JSON.stringify(spec({ precision: [[1, 0]] })), /precision must be 2 × 2/],
    ['an asymmetric precision', JSON.stringify(spec({ precision: [[1, 0.5], [0, 4]] })), /not symmetric/],
    ['a threshold of 0', JSON.stringify(spec({ threshold: 0 })), /threshold/],
    ['a non-numeric mean', JSON.stringify(spec({ classes: [{ key: 'a', mean: [0, 'x'] }] })), /classes\.0\.mean\.1/],
  ])('refuses %s', (_name, text, message) => {
    expect(() => parseOodSpec(text)).toThrow(OodSpecError);
    expect(() => parseOodSpec(text)).toThrow(message);
  });
});

describe('mahalanobisDistance', () => {
  const check = parseOodSpec(JSON.stringify(spec()));

  it('is the distance to the nearest class mean under the precision', () => {
    // (1, 1) from (0, 0): 1·1 + 4·1 = 5.
    expect(mahalanobisDistance(check, [1, 1])).toBeCloseTo(Math.sqrt(5), 12);
    // (9, 0.5) is nearer (10, 0): 1·1 + 4·0.25 = 2.
    expect(mahalanobisDistance(check, [9, 0.5])).toBeCloseTo(Math.sqrt(2), 12);
    expect(mahalanobisDistance(check, [10, 0])).toBe(0);
  });

  it('agrees with the quadratic form for a full precision matrix', () => {
    const full = parseOodSpec(JSON.stringify(spec({ classes: [{ key: 'a', mean: [1, -1] }], precision: [[2, 0.5], [0.5, 1]] })));
    const [dx, dy] = [3 - 1, 2 + 1];
    expect(mahalanobisDistance(full, [3, 2])).toBeCloseTo(Math.sqrt(2 * dx * dx + 2 * 0.5 * dx * dy + dy * dy), 12);
  });

  it('refuses features of the wrong length or not finite (INFERENCE_FAILED)', () => {
    expect(() => mahalanobisDistance(check, [1, 2, 3])).toThrow(expect.objectContaining({ code: 'INFERENCE_FAILED' }) as Error);
    expect(() => mahalanobisDistance(check, [1, Number.NaN])).toThrow(expect.objectContaining({ code: 'INFERENCE_FAILED' }) as Error);
  });

  it('flags only a distance above the threshold', () => {
    expect(unfamiliarVerdict(check, [3, 0])).toEqual({ distance: 3, threshold: 3, flagged: false });
    expect(unfamiliarVerdict(check, [0, 2])).toEqual({ distance: 4, threshold: 3, flagged: true });
  });
});

describe('the verdict on a classifier result', () => {
  let engine: InferenceEngine | undefined;
  let models: ModelsDir | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
    models?.cleanup();
    models = undefined;
  });

  it('is on the result and on each finding of a shipped classifier with an ood.json', async () => {
    engine = await createInferenceEngine({ modelsDir: path.resolve('models'), enabledModels: ['breast-us-28'], saliency: 'never' });
    // A flat grey square: nothing like an ultrasound image.
    const result = await engine.run('breast-us-28', makeImage(64, 64, 1, () => 0.5));
    expect(result.unfamiliar).toEqual({ distance: expect.any(Number) as number, threshold: 6.90403, flagged: true });
    expect(result.findings.length).toBeGreaterThan(0);
    for (const f of result.findings) expect(f.unfamiliar).toEqual(result.unfamiliar);
  });

  it('is absent when the graph has no features output (logged) and when there is no ood.json', async () => {
    models = new ModelsDir().add('tiny-mean', { from: 'tiny-mean' }).add('tiny-plain', { from: 'tiny-mean' });
    writeFileSync(path.join(models.dir, 'tiny-mean', 'ood.json'), JSON.stringify(spec()));
    const { log, entries } = recordingLog();
    engine = await createInferenceEngine({ modelsDir: models.dir, saliency: 'never', log });
    for (const id of ['tiny-mean', 'tiny-plain']) {
      const result = await engine.run(id, makeImage(8, 8, 1, () => 0.7));
      expect(result.unfamiliar).toBeUndefined();
      expect(result.findings.every((f) => f.unfamiliar === undefined)).toBe(true);
    }
    expect(entries.some((e) => e.level === 'warn' && /no output "features": no unfamiliar-image check/.test(e.msg))).toBe(true);
  });

  it('makes a model with an unusable ood.json unavailable, naming the file', async () => {
    models = new ModelsDir().add('tiny-mean', { from: 'tiny-mean' });
    writeFileSync(path.join(models.dir, 'tiny-mean', 'ood.json'), '{"schemaVersion": 1');
    engine = await createInferenceEngine({ modelsDir: models.dir, saliency: 'never' });
    expect(engine.status().models).toEqual([expect.objectContaining({ folder: 'tiny-mean', status: 'unavailable', reason: expect.stringMatching(/^ood\.json is not valid JSON/) as string })]);
  });
});

// TypeScript vs the Python fit (ood_fit.py, onnxruntime in Python) on the first test images.
const dataDir = resolveDataDir(path.resolve('.'));
const breast = path.join(dataDir, 'medmnist', 'breastmnist.npz');
const retina = path.join(dataDir, 'medmnist', 'retinamnist.npz');
const haveData = existsSync(breast) && existsSync(retina);
if (!haveData) process.stdout.write(`skipped: unfamiliar-image distances vs Python need ${existsSync(breast) ? retina : breast} (not found)\n`);
const describeWithData = haveData ? describe : describe.skip;

describeWithData('shipped checks against the Python fit', () => {
  it.each([
    ['breast-us-28', 'breastmnist.npz', [0]],
    ['retina-dr-28', 'retinamnist.npz', [2, 3, 4]],
  ])('%s: distances of the first test images agree within 1e-4', async (id, file, positiveLabels) => {
    const stored = JSON.parse(readFileSync(path.resolve('models', id, 'ood.json'), 'utf8')) as { check: { distances: number[] } };
    const test = await readMedmnist(dataDir, { kind: 'medmnist', file, positiveLabels });
    const engine = await createInferenceEngine({ modelsDir: path.resolve('models'), enabledModels: [id], saliency: 'never' });
    try {
      const results = await Promise.all(test.images.slice(0, stored.check.distances.length).map((im) => engine.run(id, im)));
      results.forEach((r, i) => {
        expect(Math.abs((r.unfamiliar?.distance ?? Number.NaN) - (stored.check.distances[i] as number))).toBeLessThan(1e-4);
      });
    } finally {
      await engine.close();
    }
  });
});
