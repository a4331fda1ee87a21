/**
 * Cardiac cine MR through the service's own path, with a real Orthanc: the ACDC validation
 * patients wrapped as realistic MR series (16-bit, PixelSpacing, slice positions along the normal,
 * trigger times, ED and ES), stored in Orthanc, fetched over QIDO-RS and WADO-RS, arranged as
 * slices × phases, segmented by `cardiac-mri-sax-seg` and measured; the same stacks stored as one
 * Enhanced MR instance (frames placed by their functional groups) measure the same. The LV EF agrees with the
 * reference EF as the model card states. ACDC is research data never shipped, and the model is
 * built locally from it (`npm run model:cardiac`): without either this suite skips, saying which.
 */
import path from 'node:path';
import { analyseCine, type ModelProfile, type ModelRunner } from '../../src/analysis/index.js';
import { createOriginAllowList } from '../../src/auth/index.js';
import { createDicomWebImageSource } from '../../src/dicom/index.js';
import { createInferenceEngine, type InferenceEngine } from '../../src/inference/index.js';
import { acdcSkipReason, enhancedCine, mrSlice, SLICE_MM, efErrorAgainstManifest, valPatients } from '../support/acdc-series.js';
import { startOrthanc, type OrthancServer } from '../support/orthanc.js';

const MODEL = 'cardiac-mri-sax-seg';
const skipReason = acdcSkipReason();
if (skipReason !== undefined) process.stdout.write(`skipped: cardiac cine test: ${skipReason}\n`);
const describeWithData = skipReason === undefined ? describe : describe.skip;

let orthanc: OrthancServer | undefined;
let engine: InferenceEngine | undefined;

afterAll(async () => {
  await engine?.close();
  await orthanc?.stop();
});

describeWithData('cine short-axis MR: LV ejection fraction through the service path', () => {
  it('measures every ACDC validation patient stored in Orthanc with the error the model card states', async () => {
    orthanc = await startOrthanc();
    const patients = await valPatients();
    for (const [n, p] of patients.entries()) {
      for (let phase = 0; phase < 2; phase++) for (let s = 0; s < p.shape[0]; s++) await orthanc.upload(mrSlice(p, n, phase, s));
      // The same stacks as one Enhanced MR instance, in another series of the study.
      await orthanc.upload(enhancedCine(p, n));
    }
    engine = await createInferenceEngine({ modelsDir: path.resolve('models'), enabledModels: [MODEL], saliency: 'never' });
    const m = engine.models().find((x) => x.id === MODEL);
    if (m === undefined) throw new Error(`${MODEL} did not load: ${JSON.stringify(engine.status())}`);
    const profile: ModelProfile = {
      model: { id: m.id, version: m.version, name: m.name, manufacturer: m.manufacturer, task: m.task, intendedUse: m.intendedUse, templates: m.templates, performance: '' },
      accepts: m.accepts,
      windowing: m.input.windowing,
    };
    const loaded = engine;
    const models: ModelRunner = { profiles: () => [profile], run: (id, image) => loaded.run(id, image), explain: () => Promise.resolve(undefined) };
    const images = createDicomWebImageSource({ allowList: createOriginAllowList([orthanc.baseUrl]), auth: { kind: 'basic', username: orthanc.username, password: orthanc.password } });
    const errors: number[] = [];
    for (const [n, p] of patients.entries()) {
      const uid = (k: number): string => `1.2.826.0.1.3680043.8.498.7702.${n}.${k}`;
      const result = await analyseCine({ images, models }, profile, { root: orthanc.dicomWebRoot, studyUid: uid(1), seriesUid: uid(2) });
      expect([result.phaseCount, result.sliceCount, result.sliceSpacingMm]).toEqual([2, p.shape[0], SLICE_MM]);
      // ED is the larger LV cavity: the first frame of this copy for every patient.
      expect([result.measures.edPhase, result.measures.esPhase]).toEqual([0, 1]);
      expect(result.measures.lvEdvMl).toBeGreaterThan(0);
      errors.push((result.measures.lvEfPercent ?? Number.NaN) - p.efReference);
      // Enhanced MR: frames placed by their functional groups give the same arrangement and measures.
      const enhanced = await analyseCine({ images, models }, profile, { root: orthanc.dicomWebRoot, studyUid: uid(1), seriesUid: uid(3) });
      expect([enhanced.phaseCount, enhanced.sliceCount, enhanced.sliceSpacingMm]).toEqual([2, p.shape[0], SLICE_MM]);
      expect(enhanced.measures.lvEfPercent).toBeCloseTo(result.measures.lvEfPercent ?? Number.NaN, 9);
      expect(enhanced.measures.lvEdvMl).toBeCloseTo(result.measures.lvEdvMl, 9);
    }
    const { mae, bias, stated } = efErrorAgainstManifest('cardiac cine', errors);
    // The manifest's (and so the card's) numbers, which npm run eval:cardiac measured on the same patients without DICOM.
    expect(Math.abs(mae - stated.mae)).toBeLessThan(0.01);
    expect(Math.abs(bias - stated.bias)).toBeLessThan(0.01);
  }, 300_000);
});
