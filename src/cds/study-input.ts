/**
 * From FHIR to the analysis layer's plain input: an ImagingStudy and its Endpoints become a
 * {@link StudyToAnalyse} (StudyInstanceUID, series with modality, body part, instances and the
 * DICOMweb root to fetch them from), plus the study date and the Patient's birth date.
 */
import type { Endpoint, FhirResource, ImagingStudy } from 'fhir/r4.js';
import { AppError, isAppError } from '../errors.js';
import { isWadoRsEndpoint, seriesSummary, studyInstanceUid } from '../fhir/index.js';
import { BODY_PART_SNOMED, SNOMED } from '../terminology.js';
import type { StudyToAnalyse } from '../analysis/index.js';
import type { PrefetchResolver } from './prefetch.js';

const BODY_PART_BY_SNOMED = new Map(Object.entries(BODY_PART_SNOMED).map(([part, c]) => [c.code, part]));

/** DICOM body part from an ImagingStudy.series.bodySite Coding (SNOMED CT, per DICOM CID 4031). */
export function bodyPartOf(coding: { system: string | undefined; code: string | undefined } | undefined): string | undefined {
  if (coding?.system !== SNOMED || coding.code === undefined) return undefined;
  return BODY_PART_BY_SNOMED.get(coding.code);
}

/**
 * Whether the ImagingStudy's subject is the patient in context. Relative (`Patient/1`) and
 * absolute (`https://ehr/fhir/Patient/1`) references both count; anything else does not.
 */
export function belongsToPatient(study: ImagingStudy, patientId: string): boolean {
  const subject = study.subject.reference ?? '';
  return subject === `Patient/${patientId}` || subject.endsWith(`/Patient/${patientId}`);
}

/**
 * Builds the analysis input for a study, with the patient's birth date (when the EHR gives it)
 * and the study date, which the models' age rules need.
 *
 * @param domain - the caller's trust domain, under which results are cached
 * @param study - the ImagingStudy
 * @param known - resources already at hand (e.g. `_include`d Endpoints)
 * @param data - to read Endpoints that were not included
 * @param defaultRoot - DICOMweb root for studies whose ImagingStudy names no usable Endpoint
 * @throws AppError DATA_UNAVAILABLE - when the study has no StudyInstanceUID
 */
export async function studyToAnalyse(domain: string, study: ImagingStudy, known: readonly FhirResource[], data: PrefetchResolver, defaultRoot: string | undefined): Promise<StudyToAnalyse> {
  const uid = studyInstanceUid(study);
  if (uid === undefined) throw new AppError('DATA_UNAVAILABLE', 'the ImagingStudy has no StudyInstanceUID identifier (system urn:dicom:uid)');
  const endpoints = new Map<string, Endpoint>();
  for (const r of known) if (r.resourceType === 'Endpoint' && r.id !== undefined) endpoints.set(`Endpoint/${r.id}`, r);
  const rootOf = async (ref: string | undefined): Promise<string | undefined> => {
    if (ref === undefined) return defaultRoot;
    let endpoint = endpoints.get(ref);
    if (endpoint === undefined) {
      const match = /^Endpoint\/([A-Za-z0-9\-.]{1,64})$/.exec(ref);
      if (match?.[1] === undefined) return defaultRoot;
      endpoint = (await data.read('Endpoint', match[1])) as Endpoint;
      endpoints.set(ref, endpoint);
    }
    return isWadoRsEndpoint(endpoint) ? endpoint.address.replace(/\/+$/, '') : defaultRoot;
  };
  const series = [];
  for (const s of seriesSummary(study)) {
    series.push({
      uid: s.uid,
      modality: s.modality,
      bodyPart: bodyPartOf(s.bodySite),
      description: s.description,
      instanceUids: s.instanceUids,
      dicomWebRoot: await rootOf(s.endpointRef),
    });
  }
  const studyDate = study.started === undefined || !/^\d{4}-\d{2}-\d{2}/.test(study.started) ? undefined : study.started.slice(0, 10);
  const patientBirthDate = await birthDateOf(study, data);
  return { domain, studyInstanceUid: uid, series, ...(studyDate === undefined ? {} : { studyDate }), ...(patientBirthDate === undefined ? {} : { patientBirthDate }) };
}

/** FHIR read errors that leave the birth date unknown instead of failing the call. */
const BIRTH_DATE_UNAVAILABLE: ReadonlySet<string> = new Set(['DATA_UNAVAILABLE', 'UPSTREAM_FAILED']);

/**
 * The study patient's birth date, from the `patient` prefetch (or a FHIR read of it when not
 * prefetched). Unavailable (not prefetched and no fhirServer, not found, the server failing):
 * undefined, and the models' age rules fall back to the image header or their unknown-age policy,
 * so a Patient the EHR cannot give never stops models without an age rule.
 */
async function birthDateOf(study: ImagingStudy, data: PrefetchResolver): Promise<string | undefined> {
  let patient: FhirResource | undefined;
  try {
    patient = await data.resource('patient');
  } catch (err) {
    if (!isAppError(err) || !BIRTH_DATE_UNAVAILABLE.has(err.code)) throw err;
    return undefined;
  }
  if (patient?.resourceType !== 'Patient' || patient.id === undefined) return undefined;
  // Only the study's own patient: a prefetch for someone else says nothing about this study.
  if (!belongsToPatient(study, patient.id)) return undefined;
  const birthDate = (patient as { birthDate?: unknown }).birthDate;
  return typeof birthDate === 'string' && /^\d{4}(-\d{2}(-\d{2})?)?$/.test(birthDate) ? birthDate : undefined;
}

/** `ImagingStudy.started` as a Date, when present and valid. */
export function startedOf(study: ImagingStudy): Date | undefined {
  if (study.started === undefined) return undefined;
  const d = new Date(study.started);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
