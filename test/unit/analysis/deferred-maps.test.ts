/**
 * Saliency maps off the answer path: the findings are handed over first (marked as awaiting
 * their map), the map follows in the same job, and a map that cannot be made is said, not dropped.
 */
import { analyseStudyThenMaps } from '../../../src/analysis/deferred-maps.js';
import { createMemoryResultCache } from '../../../src/analysis/result-cache.js';
import type { ImageSource, ModelProfile, ModelRunner, StudyAnalysis, StudyToAnalyse } from '../../../src/analysis/types.js';
import type { ModalityFrame } from '../../../src/dicom/types.js';
import { AppError } from '../../../src/errors.js';
import type { ImageMap } from '../../../src/inference/types.js';

const profile: ModelProfile = {
  model: { id: 'm', version: '1', name: 'M', manufacturer: 'x', task: 'classification', intendedUse: 'u', templates: { card: 'c', report: 'r' }, performance: 'p' },
  accepts: { modalities: ['DX'], bodyParts: [], viewPositions: [], missingViewPosition: 'accept', photometricInterpretations: [], minRows: 1, minColumns: 1 },
  windowing: { kind: 'dicom' },
};
const study: StudyToAnalyse = { domain: 'local', studyInstanceUid: '1.2.3', series: [{ uid: '1.2.3.1', modality: 'DX', bodyPart: undefined, description: 'XR', instanceUids: ['1'], dicomWebRoot: 'http://pacs' }] };
const header = { studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1', sopClassUid: undefined, transferSyntaxUid: '1.2.840.10008.1.2.1', modality: 'DX', imageType: ['ORIGINAL'], rows: 2, columns: 2, numberOfFrames: 1, photometricInterpretation: 'MONOCHROME2', samplesPerPixel: 1, bitsAllocated: 8, bitsStored: 8, pixelRepresentation: 0 };
const images: ImageSource = {
  listInstances: () => Promise.resolve(['1']),
  loadInstance: () => Promise.resolve({ info: header as never, frames: [{ info: header, frameIndex: 0, rows: 2, columns: 2, samplesPerPixel: 1, values: new Float32Array(4), window: undefined, invert: false } as unknown as ModalityFrame] }),
  toDisplay: () => ({ width: 2, height: 2, channels: 1, data: new Float32Array([0, 0.5, 0.5, 1]) }),
};
const positive = { key: 'p', display: 'Finding', probability: 0.9, threshold: 0.5, reviewBand: [0.4, 0.6] as const, interpretation: 'positive' as const, needsReview: false, codes: [], urgency: 'warning' as const };
const map: ImageMap = { kind: 'saliency', method: 'test map', width: 2, height: 2, values: Float32Array.from([1, 0, 0, 0]) };

function runner(explain: () => Promise<ImageMap | undefined>): { models: ModelRunner; deferred: boolean[] } {
  const deferred: boolean[] = [];
  return {
    deferred,
    models: {
      profiles: () => [profile],
      run: (_id, _image, options) => {
        deferred.push(options?.deferMap === true);
        return Promise.resolve({ model: profile.model, inferenceMs: 1, findings: [positive] as never, measurements: [], mapDeferred: options?.deferMap === true });
      },
      explain,
    },
  };
}

describe('analyseStudyThenMaps', () => {
  it('hands over the findings marked "map pending" first, then returns and caches them with the map', async () => {
    const { models, deferred } = runner(() => Promise.resolve(map));
    const cache = createMemoryResultCache(10);
    const seen: StudyAnalysis[] = [];
    const final = await analyseStudyThenMaps({ images, models, cache }, study, (a) => {
      seen.push(a);
      return Promise.resolve();
    });
    expect(deferred).toEqual([true]);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.results[0]).toMatchObject({ overlayPending: true, findings: [positive] });
    expect(seen[0]?.results[0]?.overlay).toBeUndefined();
    expect(final.results[0]?.overlayPending).toBeUndefined();
    expect(final.results[0]?.overlay).toMatchObject({ kind: 'saliency', method: 'test map' });
    expect((await cache.get(study, 'm', '1'))?.overlay).toBeDefined();
  });

  it('says why when the map cannot be made, and keeps the findings', async () => {
    const { models } = runner(() => Promise.reject(new AppError('INFERENCE_BUSY', 'queue full')));
    const final = await analyseStudyThenMaps({ images, models, cache: createMemoryResultCache(10) }, study, () => Promise.resolve());
    expect(final.results[0]).toMatchObject({ findings: [positive], overlayUnavailable: 'the saliency map could not be made (INFERENCE_BUSY)' });
    expect(final.results[0]?.overlayPending).toBeUndefined();
  });

  it('analyses a result whose map was never finished again rather than serve it from the cache', async () => {
    const { models, deferred } = runner(() => Promise.resolve(map));
    const cache = createMemoryResultCache(10);
    // The job dies between the findings and the map: what the cache holds is unfinished, and its
    // claim on the analysis lapses after its ttl.
    const deps = { images, models, cache, claimTtlMs: 50, claimPollMs: 5 };
    await analyseStudyThenMaps(deps, study, () => Promise.reject(new Error('worker lost'))).catch(() => undefined);
    expect((await cache.get(study, 'm', '1'))?.overlayPending).toBe(true);
    const final = await analyseStudyThenMaps(deps, study, () => Promise.resolve());
    expect(deferred).toEqual([true, true]);
    expect(final.results[0]?.overlay).toBeDefined();
  });

  it('runs a model once when two jobs analyse the same study at the same time: the second waits for the first one\'s complete result', async () => {
    let runs = 0;
    let openGate = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const models: ModelRunner = {
      profiles: () => [profile],
      run: async (_id, _image, options) => {
        runs += 1;
        await gate;
        return { model: profile.model, inferenceMs: 1, findings: [positive] as never, measurements: [], mapDeferred: options?.deferMap === true };
      },
      explain: () => Promise.resolve(map),
    };
    const cache = createMemoryResultCache(10);
    const deps = { images, models, cache, claimPollMs: 5 };
    const first = analyseStudyThenMaps(deps, study, () => Promise.resolve());
    const second = analyseStudyThenMaps(deps, { ...study, series: study.series.map((s) => ({ ...s, instanceUids: [] })) }, () => Promise.resolve());
    await new Promise((resolve) => setTimeout(resolve, 30));
    openGate();
    const [a, b] = await Promise.all([first, second]);
    expect(runs).toBe(1);
    expect(a.results[0]?.overlay).toBeDefined();
    expect(b.results[0]?.overlay).toEqual(a.results[0]?.overlay);
    expect(await cache.claimed(study, 'm', '1')).toBe(false);
  });
});
