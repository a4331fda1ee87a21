/**
 * From FHIR to the analysis layer's plain input: an ImagingStudy and its Endpoints become a
 * {@link StudyToAnalyse} (StudyInstanceUID, series with modality, body part, instances and the
 * DICOMweb root to fetch them from).
 */
import type { Endpoint, FhirResource, ImagingStudy } from 'fhir/r4.js';
import { AppError } from '../errors.js';
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
 * Builds the analysis input for a study.
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
  return { domain, studyInstanceUid: uid, series };
}

/** `ImagingStudy.started` as a Date, when present and valid. */
export function startedOf(study: ImagingStudy): Date | undefined {
  if (study.started === undefined) return undefined;
  const d = new Date(study.started);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
