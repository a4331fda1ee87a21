import { analyseStudy } from '../../../src/analysis/analyse-study.js';
import { createMemoryResultCache } from '../../../src/analysis/result-cache.js';
import { preselectSeries, rejectImage } from '../../../src/analysis/series-selection.js';
import type { ImageSource, ModelProfile, ModelRunner, StudyToAnalyse } from '../../../src/analysis/types.js';
import type { DicomImageInfo, ModalityFrame } from '../../../src/dicom/types.js';
import { AppError } from '../../../src/errors.js';

const profile: ModelProfile = {
  model: { id: 'm', version: '1', name: 'M', manufacturer: 'x', task: 'classification', intendedUse: 'u', templates: { card: 'c', report: 'r' }, performance: 'p' },
  accepts: { modalities: ['DX', 'CR'], bodyParts: ['CHEST'], viewPositions: ['PA', 'AP'], missingViewPosition: 'accept', photometricInterpretations: [], minRows: 1, minColumns: 1 },
  windowing: { kind: 'dicom' },
};

const info = (over: Partial<DicomImageInfo> = {}): DicomImageInfo => ({
  studyInstanceUid: '1.2.3',
  seriesInstanceUid: '1.2.3.1',
  sopInstanceUid: '1.2.3.1.1',
  sopClassUid: undefined,
  transferSyntaxUid: '1.2.840.10008.1.2.1',
  modality: 'DX',
  bodyPartExamined: 'CHEST',
  viewPosition: 'AP',
  imageType: ['ORIGINAL', 'PRIMARY'],
  rows: 2,
  columns: 2,
  numberOfFrames: 1,
  photometricInterpretation: 'MONOCHROME2',
  samplesPerPixel: 1,
  bitsAllocated: 8,
  bitsStored: 8,
  pixelRepresentation: 0,
  ...over,
});

const study: StudyToAnalyse = {
  domain: 'local',
  studyInstanceUid: '1.2.3',
  series: [
    { uid: '1.2.3.9', modality: 'CT', bodyPart: 'CHEST', description: 'CT', instanceUids: ['1'], dicomWebRoot: 'http://pacs' },
    { uid: '1.2.3.1', modality: 'DX', bodyPart: 'CHEST', description: 'XR', instanceUids: [], dicomWebRoot: 'http://pacs' },
  ],
};

/** Fakes of the two neighbours (the real ones are exercised against Orthanc and ORT elsewhere). */
function fakes(header = info(), fail?: AppError): { images: ImageSource; models: ModelRunner; calls: string[] } {
  const calls: string[] = [];
  const frame = { info: header, frameIndex: 0, rows: 2, columns: 2, samplesPerPixel: 1, values: new Float32Array(4), window: undefined, invert: false } as ModalityFrame;
  return {
    calls,
    images: {
      listInstances: (_root, _study, series) => {
        calls.push(`qido ${series}`);
        return Promise.resolve(['1.2.3.1.1']);
      },
      loadInstance: (_root, _study, series, sop) => {
        calls.push(`wado ${series}/${sop}`);
        return fail === undefined ? Promise.resolve({ info: header, frames: [frame] }) : Promise.reject(fail);
      },
      toDisplay: () => ({ width: 2, height: 2, channels: 1, data: new Float32Array(4) }),
    },
    models: {
      profiles: () => [profile],
      explain: () => Promise.resolve(undefined),
      run: (id) => {
        calls.push(`run ${id}`);
        return Promise.resolve({ model: profile.model, inferenceMs: 1, findings: [], measurements: [] });
      },
    },
  };
}

describe('series selection', () => {
  it('puts fitting series first and says why others were passed over', () => {
    const verdicts = preselectSeries(profile, study.series);
    expect(verdicts.map((v) => [v.series.uid, v.accepted])).toEqual([
      ['1.2.3.1', true],
      ['1.2.3.9', false],
    ]);
    expect(verdicts[1]?.reason).toBe('modality CT is not one the model accepts (DX, CR)');
  });

  it('rejects lateral views, localizers, derived images and other body parts by header', () => {
    expect(rejectImage(profile, info({ viewPosition: 'LL' }))).toEqual({ reason: 'view position LL is not one the model accepts (PA, AP)', outsideUse: 'VIEW_POSITION_NOT_VALIDATED' });
    expect(rejectImage(profile, info({ imageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'] }))).toEqual({ reason: 'the image is a localizer' });
    expect(rejectImage(profile, info({ imageType: ['DERIVED', 'SECONDARY'] }))?.reason).toMatch(/DERIVED/);
    expect(rejectImage(profile, info({ bodyPartExamined: 'KNEE' }))?.reason).toMatch(/body part KNEE/);
    expect(rejectImage(profile, info({ bodyPartExamined: undefined }))).toBeUndefined();
  });
});

describe('analyseStudy', () => {
  it('asks the PACS for instances when the ImagingStudy lists none, then runs the model', async () => {
    const f = fakes();
    const result = await analyseStudy({ images: f.images, models: f.models, cache: createMemoryResultCache(10) }, study);
    expect(f.calls).toEqual(['qido 1.2.3.1', 'wado 1.2.3.1/1.2.3.1.1', 'run m']);
    expect(result.results).toHaveLength(1);
    expect(result.fromCache).toBe(false);
    expect(result.skipped.map((s) => s.seriesUid)).toEqual(['1.2.3.9']);
  });

  it('answers from the cache without fetching a byte the second time', async () => {
    const f = fakes();
    const cache = createMemoryResultCache(10);
    await analyseStudy({ images: f.images, models: f.models, cache }, study);
    f.calls.length = 0;
    const again = await analyseStudy({ images: f.images, models: f.models, cache }, study);
    expect(f.calls).toEqual([]);
    expect(again.fromCache).toBe(true);
  });

  it('passes over an image whose header does not fit, with the reason', async () => {
    const f = fakes(info({ viewPosition: 'LL' }));
    const result = await analyseStudy({ images: f.images, models: f.models, cache: createMemoryResultCache(10) }, study);
    expect(result.results).toEqual([]);
    expect(result.skipped).toEqual(expect.arrayContaining([expect.objectContaining({ seriesUid: '1.2.3.1', reason: 'view position LL is not one the model accepts (PA, AP)' })]));
  });

  it('raises the data error when no model could produce a result', async () => {
    const f = fakes(info(), new AppError('DICOM_UNSUPPORTED', 'transfer syntax 1.2.840.10008.1.2.4.90 (JPEG 2000) is not supported'));
    await expect(analyseStudy({ images: f.images, models: f.models, cache: createMemoryResultCache(10) }, study)).rejects.toMatchObject({ code: 'DICOM_UNSUPPORTED', status: 422 });
  });

  it('passes over an image a model cannot measure (no field of view), with the reason, and caches nothing', async () => {
    const f = fakes();
    const unsuitable = new AppError('IMAGE_UNSUITABLE', 'The image shows no field of view for m (0.0% of pixels reach the minimum intensity 0.05).');
    const models: ModelRunner = { profiles: () => [profile], explain: () => Promise.resolve(undefined), run: () => Promise.reject(unsuitable) };
    const cache = createMemoryResultCache(10);
    const result = await analyseStudy({ images: f.images, models, cache }, study);
    expect(result.results).toEqual([]);
    expect(result.skipped).toEqual(expect.arrayContaining([{ seriesUid: '1.2.3.1', modelId: 'm', reason: unsuitable.message }]));
    expect(await cache.get(study, 'm', '1')).toBeUndefined();
  });

  it('attaches an overlay PNG when the model returns a map, sized for a report viewer', async () => {
    const f = fakes();
    const map = { kind: 'saliency' as const, method: 'test map', width: 2, height: 2, values: Float32Array.from([1, 0, 0, 0]) };
    const models: ModelRunner = { profiles: () => [profile], explain: () => Promise.resolve(undefined), run: () => Promise.resolve({ model: profile.model, inferenceMs: 1, findings: [], measurements: [], map }) };
    const result = await analyseStudy({ images: f.images, models, cache: createMemoryResultCache(10) }, study);
    expect(result.results[0]?.overlay).toMatchObject({ kind: 'saliency', method: 'test map', width: 2, height: 2, title: 'AI saliency map (occlusion): M' });
    expect(Buffer.from(result.results[0]?.overlay?.png ?? '', 'base64').subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('does not swallow programming errors', async () => {
    const f = fakes(info(), new TypeError('boom') as unknown as AppError);
    await expect(analyseStudy({ images: f.images, models: f.models, cache: createMemoryResultCache(10) }, study)).rejects.toThrow(TypeError);
  });
});

describe('result cache', () => {
  const r = (uid: string) => ({ studyInstanceUid: uid, model: profile.model, series: { seriesInstanceUid: 's', description: undefined, modality: 'DX', bodyPart: undefined, viewPosition: undefined, imageCount: 1, selectionReason: '' }, findings: [], measurements: [], inferenceMs: 1, analysedAt: '' });
  const at = (uid: string, over: Partial<StudyToAnalyse> = {}): StudyToAnalyse => ({ ...study, studyInstanceUid: uid, ...over });

  it('evicts the least recently used result', async () => {
    const cache = createMemoryResultCache(2);
    await cache.set(at('a'), r('a'));
    await cache.set(at('b'), r('b'));
    await cache.get(at('a'), 'm', '1');
    await cache.set(at('c'), r('c'));
    expect(await cache.get(at('b'), 'm', '1')).toBeUndefined();
    expect(await cache.get(at('a'), 'm', '1')).toBeDefined();
  });

  it('never serves a result to another trust domain with the same StudyInstanceUID', async () => {
    const cache = createMemoryResultCache(10);
    await cache.set(at('a', { domain: '["jwt","https://ehr-a","t1"]' }), r('a'));
    expect(await cache.get(at('a', { domain: '["jwt","https://ehr-b","t1"]' }), 'm', '1')).toBeUndefined();
    expect(await cache.get(at('a', { domain: '["jwt","https://ehr-a","t2"]' }), 'm', '1')).toBeUndefined();
    expect(await cache.get(at('a', { domain: '["jwt","https://ehr-a","t1"]' }), 'm', '1')).toBeDefined();
  });

  it('never stands in for a study of the same UID from another PACS', async () => {
    const cache = createMemoryResultCache(10);
    await cache.set(at('a'), r('a'));
    const elsewhere = at('a', { series: study.series.map((s) => ({ ...s, dicomWebRoot: 'http://other-pacs' })) });
    expect(await cache.get(elsewhere, 'm', '1')).toBeUndefined();
  });
});

describe('analyseStudy without models', () => {
  it('answers MODEL_UNAVAILABLE rather than an empty result', async () => {
    const f = fakes();
    const models: ModelRunner = { profiles: () => [], explain: () => Promise.resolve(undefined), run: (id, image) => f.models.run(id, image) };
    await expect(analyseStudy({ images: f.images, models, cache: createMemoryResultCache(10) }, study)).rejects.toMatchObject({ code: 'MODEL_UNAVAILABLE', status: 503 });
  });
});

describe('analyseStudy: validated use', () => {
  const paediatric: ModelProfile = {
    ...profile,
    model: { ...profile.model, name: 'Paediatric CXR' },
    accepts: { ...profile.accepts, viewPositions: ['AP'], missingViewPosition: 'refuse', patientAge: { minYears: 1, maxYears: 5, unknown: 'refuse', basis: 'children aged 1–5' } },
  };
  const withModel = (f: ReturnType<typeof fakes>, p: ModelProfile): ModelRunner => ({ profiles: () => [p], explain: () => Promise.resolve(undefined), run: (id, image) => f.models.run(id, image) });
  const child = { ...study, studyDate: '2026-10-01', patientBirthDate: '2023-04-01' };
  const adult = { ...study, studyDate: '2026-10-01', patientBirthDate: '1986-04-01' };

  it('refuses an adult on the EHR birth date before the cache and the PACS: no fetch, no run, no result', async () => {
    const f = fakes();
    const cache = createMemoryResultCache(10);
    // The study was analysed for a child first: that cached result must not reach the adult.
    await analyseStudy({ images: f.images, models: withModel(f, paediatric), cache }, child);
    f.calls.length = 0;
    const result = await analyseStudy({ images: f.images, models: withModel(f, paediatric), cache }, adult);
    expect(f.calls).toEqual([]);
    expect(result.results).toEqual([]);
    expect(result.skipped).toContainEqual({
      seriesUid: undefined,
      modelId: 'm',
      reason: "the patient's age at the study is outside the ages 1–5 years the model was validated on",
      outsideUse: { code: 'AGE_OUT_OF_RANGE', modelName: 'Paediatric CXR' },
    });
  });

  it('runs for a child and records that the EHR decided the age', async () => {
    const f = fakes();
    const result = await analyseStudy({ images: f.images, models: withModel(f, paediatric), cache: createMemoryResultCache(10) }, child);
    expect(f.calls).toEqual(['qido 1.2.3.1', 'wado 1.2.3.1/1.2.3.1.1', 'run m']);
    expect(result.results[0]?.ageFrom).toBe('fhir');
  });

  it('refuses an unknown age after reading the header, and does not reuse a result made on a birth date the call no longer brings', async () => {
    const f = fakes();
    const cache = createMemoryResultCache(10);
    await analyseStudy({ images: f.images, models: withModel(f, paediatric), cache }, child);
    f.calls.length = 0;
    const result = await analyseStudy({ images: f.images, models: withModel(f, paediatric), cache }, study);
    expect(f.calls).toEqual(['qido 1.2.3.1', 'wado 1.2.3.1/1.2.3.1.1']);
    expect(result.results).toEqual([]);
    expect(result.skipped).toContainEqual(expect.objectContaining({ seriesUid: '1.2.3.1', outsideUse: { code: 'AGE_UNKNOWN', modelName: 'Paediatric CXR' } }));
  });

  it('takes the age from the header when the EHR gives none, and reuses that result from the cache', async () => {
    const f = fakes(info({ patientAge: '003Y' }));
    const cache = createMemoryResultCache(10);
    const first = await analyseStudy({ images: f.images, models: withModel(f, paediatric), cache }, study);
    expect(first.results[0]?.ageFrom).toBe('dicom');
    f.calls.length = 0;
    const again = await analyseStudy({ images: f.images, models: withModel(f, paediatric), cache }, study);
    expect(f.calls).toEqual([]);
    expect(again.fromCache).toBe(true);
  });

  it('refuses an image without View Position for a model that says so, with the rule\'s code', async () => {
    const f = fakes(info({ viewPosition: undefined }));
    const result = await analyseStudy({ images: f.images, models: withModel(f, paediatric), cache: createMemoryResultCache(10) }, child);
    expect(f.calls).not.toContain('run m');
    expect(result.skipped).toContainEqual(expect.objectContaining({ outsideUse: { code: 'VIEW_POSITION_MISSING', modelName: 'Paediatric CXR' } }));
  });

  it('never applies a model\'s age rule to a study none of whose series the model takes', async () => {
    const f = fakes();
    const ct = { ...adult, series: study.series.filter((s) => s.modality === 'CT') };
    const result = await analyseStudy({ images: f.images, models: withModel(f, paediatric), cache: createMemoryResultCache(10) }, ct);
    expect(result.skipped.map((s) => s.outsideUse)).toEqual([undefined]);
  });
});
