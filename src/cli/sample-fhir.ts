/**
 * FHIR descriptions of sample DICOM instances (an ImagingStudy and its DICOMweb Endpoint), as
 * an EHR would hold them. Used by the demo, the benchmark and the integration tests, so all
 * three describe a study the same way.
 */
import type { Bundle, Endpoint, ImagingStudy } from 'fhir/r4.js';
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
  return {
    resourceType: 'ImagingStudy',
    id: o.id,
    status: 'available',
    subject: { reference: `Patient/${o.patientId}` },
    ...(o.started === undefined ? {} : { started: o.started }),
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

/** The result hook's request body for a study, with the study and its Endpoint prefetched. */
export function resultHookRequest(study: ImagingStudy, endpoint: Endpoint): Record<string, unknown> {
  const patientId = (study.subject.reference ?? '').replace(/^Patient\//, '');
  return {
    hook: IMAGINGSTUDY_AVAILABLE_HOOK,
    hookInstance: randomUUID(),
    context: { patientId, imagingStudyId: study.id },
    prefetch: { imagingStudy: studyPrefetchBundle(study, endpoint) },
  };
}
