/**
 * The ids, identifiers and references every resource of one result shares. Ids are UUID v5 of
 * (StudyInstanceUID, model id, model version), so the same analysis always renders the same
 * resources and a write-back is idempotent.
 */
import { BODY_PART_SNOMED, DEVICE_IDENTIFIER_SYSTEM, RESOURCE_KEY_SYSTEM, RESULT_IDENTIFIER_SYSTEM, SNOMED } from '../terminology.js';
import { uuidV5 } from './ids.js';
import type { ObservationContext } from './measurements.js';
import type { RenderInput } from './types.js';

export interface ResultRefs {
  readonly patient: string;
  readonly imagingStudy: string;
  readonly serviceRequest: string | null;
  readonly device: string;
  /** Filled once the Observations are rendered; the Observations themselves never list it. */
  readonly observations: { reference: string }[];
}

export interface ResultContext {
  /** `StudyInstanceUID|model id|model version`: the result's business identifier. */
  readonly resultKey: string;
  /** `model id|model version`: the Device's identifier. */
  readonly deviceKey: string;
  readonly deviceId: string;
  readonly reportId: string;
  readonly refs: ResultRefs;
  readonly systems: { readonly result: string; readonly device: string; readonly key: string };
  readonly observation: ObservationContext;
}

/** The DiagnosticReport's business identifier as `system|value`, e.g. for a DICOM SR to name it. */
export function reportIdentifierOf(studyInstanceUid: string, model: { readonly id: string; readonly version: string }): string {
  return `${RESULT_IDENTIFIER_SYSTEM}|${studyInstanceUid}|${model.id}|${model.version}`;
}

/** Derives the shared ids and references of one result. */
export function resultContext(input: RenderInput): ResultContext {
  const { subject, model, series } = input;
  const resultKey = `${subject.studyInstanceUid}|${model.id}|${model.version}`;
  const deviceKey = `${model.id}|${model.version}`;
  const deviceId = uuidV5(`device|${deviceKey}`);
  const refs: ResultRefs = {
    patient: subject.patientReference,
    imagingStudy: subject.imagingStudyReference,
    serviceRequest: subject.serviceRequestReference ?? null,
    device: `Device/${deviceId}`,
    observations: [],
  };
  const systems = { result: RESULT_IDENTIFIER_SYSTEM, device: DEVICE_IDENTIFIER_SYSTEM, key: RESOURCE_KEY_SYSTEM };
  const bodySite = series.bodyPart === undefined ? undefined : BODY_PART_SNOMED[series.bodyPart.toUpperCase()];
  return {
    resultKey,
    deviceKey,
    deviceId,
    reportId: uuidV5(`report|${resultKey}`),
    refs,
    systems,
    observation: {
      idFor: (key) => uuidV5(`observation|${resultKey}|${key}`),
      identifierFor: (key) => `${resultKey}|${key}`,
      systems,
      refs,
      effective: subject.studyDate ?? null,
      issued: input.issued,
      bodySite: bodySite === undefined ? null : { coding: [{ system: SNOMED, code: bodySite.code, display: bodySite.display }] },
      methodText: `${model.name} ${model.version}`,
    },
  };
}
