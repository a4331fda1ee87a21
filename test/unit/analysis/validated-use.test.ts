/**
 * Each rule of a model's validated use, on plain data: the patient's age at the study from every
 * source the service reads (FHIR birth date, DICOM Patient's Age, DICOM birth and study dates),
 * the unknown-age policy, and the image rules (view, photometric interpretation, size, spacing).
 */
import { ageFromBirthDate, ageFromDicomAge, dayRange, judgeAge } from '../../../src/analysis/population.js';
import { ageAfterFetch, ageBeforeFetch, imageRefusal } from '../../../src/analysis/validated-use.js';
import type { StudyToAnalyse } from '../../../src/analysis/types.js';
import type { DicomImageInfo } from '../../../src/dicom/types.js';
import type { AgeRule, ModelAccepts } from '../../../src/inference/types.js';

const CHILD_RULE: AgeRule = { minYears: 1, maxYears: 5, unknown: 'refuse', basis: 'Kermany et al. 2018: children aged 1–5' };

const accepts = (over: Partial<ModelAccepts> = {}): ModelAccepts => ({
  modalities: ['DX', 'CR'],
  bodyParts: ['CHEST'],
  viewPositions: ['AP'],
  missingViewPosition: 'refuse',
  photometricInterpretations: ['MONOCHROME1', 'MONOCHROME2'],
  minRows: 224,
  minColumns: 224,
  patientAge: CHILD_RULE,
  ...over,
});

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
  rows: 1024,
  columns: 1024,
  numberOfFrames: 1,
  photometricInterpretation: 'MONOCHROME2',
  samplesPerPixel: 1,
  bitsAllocated: 8,
  bitsStored: 8,
  pixelRepresentation: 0,
  ...over,
});

const study = (over: Partial<StudyToAnalyse> = {}): StudyToAnalyse => ({ domain: 'local', studyInstanceUid: '1.2.3', series: [], ...over });

describe('patient age at the study date', () => {
  it('counts completed years from a FHIR birth date to the study date, not to today', () => {
    expect(ageFromBirthDate('2021-06-15', '2026-06-14')).toEqual({ low: 4, high: 4 });
    expect(ageFromBirthDate('2021-06-15', '2026-06-15')).toEqual({ low: 5, high: 5 });
    expect(ageFromBirthDate('1986-03-01', '2026-10-01T09:30:00Z')).toEqual({ low: 40, high: 40 });
  });

  it('gives a partial birth date as the interval it allows', () => {
    expect(ageFromBirthDate('2021', '2026-06-14')).toEqual({ low: 4, high: 5 });
    expect(ageFromBirthDate('2021-06', '2026-06-30')).toEqual({ low: 5, high: 5 });
    expect(ageFromBirthDate('2021-06', '2026-06-14')).toEqual({ low: 4, high: 5 });
  });

  it('has no age for a missing or invalid date, or a birth after the study', () => {
    expect(ageFromBirthDate(undefined, '2026-01-01')).toBeUndefined();
    expect(ageFromBirthDate('2021-02-30', '2026-01-01')).toBeUndefined();
    expect(ageFromBirthDate('2021-01-01', undefined)).toBeUndefined();
    expect(ageFromBirthDate('2027-01-01', '2026-01-01')).toBeUndefined();
    expect(dayRange('20210615')).toEqual([{ y: 2021, m: 6, d: 15 }, { y: 2021, m: 6, d: 15 }]);
  });

  it.each([
    ['004Y', { low: 4, high: 4 }],
    ['040Y', { low: 40, high: 40 }],
    ['018M', { low: 1, high: 1 }],
    ['011M', { low: 0, high: 0 }],
    ['060M', { low: 5, high: 5 }],
    ['052W', { low: 0, high: 1 }],
    ['104W', { low: 1, high: 2 }],
    ['010W', { low: 0, high: 0 }],
    ['300D', { low: 0, high: 0 }],
    ['800D', { low: 2, high: 2 }],
  ])('reads DICOM Patient\'s Age %s in its unit', (value, age) => {
    expect(ageFromDicomAge(value)).toEqual(age);
  });

  it('ignores a malformed Patient\'s Age', () => {
    for (const v of ['4Y', '004', '004X', '', undefined]) expect(ageFromDicomAge(v)).toBeUndefined();
  });

  it('takes the EHR\'s birth date first, then Patient\'s Age, then the header\'s birth and study dates', () => {
    const header = { patientAge: '040Y', patientBirthDate: '19860101', studyDate: '20260101' };
    expect(judgeAge(CHILD_RULE, { birthDate: '2022-01-01', studyDate: '2026-01-01', header })).toEqual({ state: 'inside', from: 'fhir' });
    expect(judgeAge(CHILD_RULE, { header })).toEqual({ state: 'outside', from: 'dicom' });
    expect(judgeAge(CHILD_RULE, { header: { patientBirthDate: '20220101', studyDate: '20260101' } })).toEqual({ state: 'inside', from: 'dicom' });
    // The EHR's birth date with the header's study date when ImagingStudy.started is absent.
    expect(judgeAge(CHILD_RULE, { birthDate: '1986-01-01', header: { studyDate: '20260101' } })).toEqual({ state: 'outside', from: 'fhir' });
  });

  it('leaves an age that straddles a bound to the next source, else unknown', () => {
    // Born in 2020: 5 or 6 at the study.
    expect(judgeAge(CHILD_RULE, { birthDate: '2020', studyDate: '2026-03-01' })).toEqual({ state: 'unknown' });
    expect(judgeAge(CHILD_RULE, { birthDate: '2020', studyDate: '2026-03-01', header: { patientAge: '005Y' } })).toEqual({ state: 'inside', from: 'dicom' });
  });
});

describe('age rule before the fetch (EHR data only)', () => {
  it('refuses an adult on the EHR\'s birth date, with a reason that does not state the age', () => {
    const verdict = ageBeforeFetch(accepts(), study({ patientBirthDate: '1986-03-01', studyDate: '2026-10-01' }));
    expect(verdict).toEqual({ kind: 'refuse', refusal: { code: 'AGE_OUT_OF_RANGE', reason: "the patient's age at the study is outside the ages 1–5 years the model was validated on" } });
  });

  it('passes a child of 3 and says the EHR decided', () => {
    expect(ageBeforeFetch(accepts(), study({ patientBirthDate: '2023-01-10', studyDate: '2026-10-01' }))).toEqual({ kind: 'pass', from: 'fhir' });
  });

  it('refuses an infant under 1 (outside the range at its lower end)', () => {
    expect(ageBeforeFetch(accepts(), study({ patientBirthDate: '2026-01-10', studyDate: '2026-10-01' }))).toMatchObject({ kind: 'refuse', refusal: { code: 'AGE_OUT_OF_RANGE' } });
  });

  it('leaves the decision to the header when the EHR gives no birth date', () => {
    expect(ageBeforeFetch(accepts(), study({ studyDate: '2026-10-01' }))).toEqual({ kind: 'undecided' });
  });

  it('passes anyone for a model without an age rule', () => {
    expect(ageBeforeFetch(accepts({ patientAge: undefined }), study({ patientBirthDate: '1930-01-01', studyDate: '2026-10-01' }))).toEqual({ kind: 'pass', from: 'none' });
    expect(ageBeforeFetch(accepts({ patientAge: { unknown: 'accept', basis: 'no age range known' } }), study())).toEqual({ kind: 'pass', from: 'none' });
  });
});

describe('age rule after the fetch (header as well)', () => {
  it('refuses an unknown age when the manifest says refuse', () => {
    const result = ageAfterFetch(accepts(), study(), info());
    expect(result).toMatchObject({ code: 'AGE_UNKNOWN' });
    expect((result as { reason: string }).reason).toMatch(/^the patient's age at the study is unknown .* validated on ages 1–5 years only$/);
  });

  it('accepts an unknown age when the manifest says accept', () => {
    expect(ageAfterFetch(accepts({ patientAge: { ...CHILD_RULE, unknown: 'accept' } }), study(), info())).toEqual({ from: 'none' });
  });

  it.each([
    ['Patient\'s Age in years', { patientAge: '004Y' }, { from: 'dicom' }],
    ['Patient\'s Age in months', { patientAge: '030M' }, { from: 'dicom' }],
    ['Patient\'s Age in weeks (under 1)', { patientAge: '020W' }, { code: 'AGE_OUT_OF_RANGE' }],
    ['Patient\'s Age in days (over 1)', { patientAge: '400D' }, { from: 'dicom' }],
    ['an adult\'s Patient\'s Age', { patientAge: '040Y' }, { code: 'AGE_OUT_OF_RANGE' }],
    ['Patient\'s Birth Date and Study Date', { patientBirthDate: '20220301', studyDate: '20260101' }, { from: 'dicom' }],
    ['an adult\'s Patient\'s Birth Date and Study Date', { patientBirthDate: '19860301', studyDate: '20260101' }, { code: 'AGE_OUT_OF_RANGE' }],
  ])('decides on %s', (_name, header, expected) => {
    expect(ageAfterFetch(accepts(), study(), info(header))).toMatchObject(expected);
  });
});

describe('image rules', () => {
  it('refuses an image without View Position when the manifest says so, and accepts it otherwise', () => {
    expect(imageRefusal(accepts(), info({ viewPosition: undefined }))).toEqual({ code: 'VIEW_POSITION_MISSING', reason: 'the image states no View Position (0018,5101); the model was validated on AP views only' });
    expect(imageRefusal(accepts({ missingViewPosition: 'accept' }), info({ viewPosition: undefined }))).toBeUndefined();
  });

  it('refuses a view the model was not validated on', () => {
    expect(imageRefusal(accepts(), info({ viewPosition: 'PA' }))).toEqual({ code: 'VIEW_POSITION_NOT_VALIDATED', reason: 'view position PA is not one the model accepts (AP)' });
  });

  it('refuses a photometric interpretation the model was not trained on', () => {
    expect(imageRefusal(accepts(), info({ photometricInterpretation: 'RGB' }))).toEqual({ code: 'PHOTOMETRIC_NOT_VALIDATED', reason: 'photometric interpretation RGB is not one the model was validated on (MONOCHROME1, MONOCHROME2)' });
    expect(imageRefusal(accepts(), info({ photometricInterpretation: 'MONOCHROME1' }))).toBeUndefined();
    expect(imageRefusal(accepts({ photometricInterpretations: [] }), info({ photometricInterpretation: 'RGB' }))).toBeUndefined();
  });

  it('refuses an image smaller than the validated minimum in either direction', () => {
    expect(imageRefusal(accepts(), info({ rows: 223 }))).toEqual({ code: 'RESOLUTION_BELOW_MINIMUM', reason: 'the image is 1024×223 pixels, below the 224×224 the model was validated on' });
    expect(imageRefusal(accepts(), info({ columns: 100 }))).toMatchObject({ code: 'RESOLUTION_BELOW_MINIMUM' });
    expect(imageRefusal(accepts(), info({ rows: 224, columns: 224 }))).toBeUndefined();
  });

  it('checks pixel spacing only where the manifest states a range, and then requires it', () => {
    const spaced = accepts({ pixelSpacingMm: { min: 0.1, max: 0.2 } });
    expect(imageRefusal(accepts(), info())).toBeUndefined();
    expect(imageRefusal(spaced, info())).toEqual({ code: 'PIXEL_SPACING_MISSING', reason: 'the image states no Pixel Spacing (0028,0030); the model was validated on 0.1–0.2 mm' });
    expect(imageRefusal(spaced, info({ pixelSpacing: [0.14, 0.14] }))).toBeUndefined();
    expect(imageRefusal(spaced, info({ pixelSpacing: [0.14, 0.5] }))).toEqual({ code: 'PIXEL_SPACING_OUT_OF_RANGE', reason: 'pixel spacing 0.14×0.5 mm is outside the 0.1–0.2 mm the model was validated on' });
  });
});
