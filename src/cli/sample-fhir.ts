/**
 * FHIR descriptions of sample DICOM instances (an ImagingStudy and its DICOMweb Endpoint), as
 * an EHR would hold them. Used by the demo, the benchmark and the integration tests, so all
 * three describe a study the same way.
 */
import type { Bundle, Endpoint, ImagingStudy, Patient } from 'fhir/r4.js';
import type { DicomImageInfo } from '../dicom/index.js';
import { randomUUID } from 'node:crypto';
import { BODY_PART_SNOMED, DCM, DICOM_UID_SYSTEM, ENDPOINT_CONNECTION_TYPE, IMAGINGSTUDY_AVAILABLE_HOOK, SNOMED } from '../terminology.js';

/** An active WADO-RS Endpoint for a DICOMweb root. */
export function wadoRsEndpoint(id: string, root: string): Endpoint {
  return {
    resourceType: 'Endpoint',
    id,
    status: 'active',
    connectionType: { system: ENDPOINT_CONNECTION_TYPE, code: 'dicom-wado-rs' },
    payloadType: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/endpoint-payload-type', code: 'DICOM' }] }],
    address: root,
  };
}

export interface SampleStudyOptions {
  readonly id: string;
  readonly patientId: string;
  readonly endpointId: string;
  /** FHIR dateTime the study started. */
  readonly started?: string;
  readonly description?: string;
}

/** An ImagingStudy with one series and one instance, described from the DICOM header. */
export function sampleImagingStudy(info: DicomImageInfo, o: SampleStudyOptions): ImagingStudy {
  const bodySite = info.bodyPartExamined === undefined ? undefined : BODY_PART_SNOMED[info.bodyPartExamined.toUpperCase()];
  // Without a given start, the DICOM Study Date, as an EHR records it.
  const dicomDay = /^(\d{4})(\d{2})(\d{2})$/.exec(info.studyDate ?? '');
  const started = o.started ?? (dicomDay === null ? undefined : `${dicomDay[1]}-${dicomDay[2]}-${dicomDay[3]}`);
  return {
    resourceType: 'ImagingStudy',
    id: o.id,
    status: 'available',
    subject: { reference: `Patient/${o.patientId}` },
    ...(started === undefined ? {} : { started }),
    identifier: [{ system: DICOM_UID_SYSTEM, value: `urn:oid:${info.studyInstanceUid}` }],
    endpoint: [{ reference: `Endpoint/${o.endpointId}` }],
    description: o.description ?? info.studyDescription ?? 'Imaging study',
    series: [
      {
        uid: info.seriesInstanceUid,
        modality: { system: DCM, code: info.modality ?? 'OT' },
        ...(bodySite === undefined ? {} : { bodySite: { system: SNOMED, code: bodySite.code, display: bodySite.display } }),
        instance: [{ uid: info.sopInstanceUid, sopClass: { system: 'urn:ietf:rfc:3986', code: `urn:oid:${info.sopClassUid ?? '1.2.840.10008.5.1.4.1.1.7'}` } }],
      },
    ],
  };
}

/** The searchset an EHR sends as the result hook's `imagingStudy` prefetch. */
export function studyPrefetchBundle(study: ImagingStudy, endpoint: Endpoint): Bundle {
  return { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: study, search: { mode: 'match' } }, { resource: endpoint, search: { mode: 'include' } }] };
}

/**
 * The sample patient: the sample radiographs are of children aged 1–5 (Kermany et al. 2018), so
 * the patient is 3 at the study, which the chest models' age rule requires.
 */
export function samplePatient(id: string, study: ImagingStudy): Patient {
  const day = /^(\d{4})(-\d{2}-\d{2})/.exec(study.started ?? '');
  return { resourceType: 'Patient', id, ...(day === null ? {} : { birthDate: `${Number(day[1]) - 3}${day[2] === '-02-29' ? '-02-28' : day[2]}` }) };
}

/** The result hook's request body for a study, with the study, its Endpoint and its patient prefetched. */
export function resultHookRequest(study: ImagingStudy, endpoint: Endpoint, patient?: Patient): Record<string, unknown> {
  const patientId = (study.subject.reference ?? '').replace(/^Patient\//, '');
  return {
    hook: IMAGINGSTUDY_AVAILABLE_HOOK,
    hookInstance: randomUUID(),
    context: { patientId, imagingStudyId: study.id },
    prefetch: { imagingStudy: studyPrefetchBundle(study, endpoint), patient: patient ?? samplePatient(patientId, study) },
  };
}
