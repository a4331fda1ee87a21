/**
 * System URIs and fixed codes, in one place. The project's own canonical base is
 * `http://imaging-cds.org/fhir`; a deployment that publishes its own terminology rebases it here
 * and in fhir-resources/ (the CodeSystem there is checked against these constants in tests).
 */

export const CANONICAL_BASE = 'http://imaging-cds.org/fhir';

/** The custom result hook, reverse-domain named as CDS Hooks 2.0 requires for custom hooks. */
export const IMAGINGSTUDY_AVAILABLE_HOOK = 'org.imaging-cds.imagingstudy-available';
/** The SubscriptionTopic a FHIR server notifies on (fhir-resources/SubscriptionTopic-imagingstudy-available.json). */
export const IMAGINGSTUDY_AVAILABLE_TOPIC = `${CANONICAL_BASE}/SubscriptionTopic/imagingstudy-available`;

export const SNOMED = 'http://snomed.info/sct';
export const LOINC = 'http://loinc.org';
/** CPT (AMA), as FHIR names it; its radiology section is 70010–79999. */
export const CPT = 'http://www.ama-assn.org/go/cpt';
export const RADLEX = 'http://radlex.org';
export const UCUM = 'http://unitsofmeasure.org';
export const DICOM_UID_SYSTEM = 'urn:dicom:uid';
export const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
export const V2_0074 = 'http://terminology.hl7.org/CodeSystem/v2-0074';
export const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
export const V3_OBSERVATION_INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
export const ENDPOINT_CONNECTION_TYPE = 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type';
export const PROVENANCE_PARTICIPANT_TYPE = 'http://terminology.hl7.org/CodeSystem/provenance-participant-type';
export const V3_DATA_OPERATION = 'http://terminology.hl7.org/CodeSystem/v3-DataOperation';
export const DEVICE_NAME_TYPE = 'http://hl7.org/fhir/device-nametype';

/** The project's CodeSystem (fhir-resources/CodeSystem-imaging-cds.json). */
export const PROJECT_CODESYSTEM = `${CANONICAL_BASE}/CodeSystem/imaging-cds`;
/** Identifier system for our results: value = `<StudyInstanceUID>|<model id>|<model version>[|<label>]`. */
export const RESULT_IDENTIFIER_SYSTEM = `${CANONICAL_BASE}/sid/ai-result`;
/** Identifier system for algorithm Devices: value = `<model id>|<model version>`. */
export const DEVICE_IDENTIFIER_SYSTEM = `${CANONICAL_BASE}/sid/ai-model`;
/**
 * Identifier system whose value is the resource's own deterministic UUIDv5 (no `|` in it). It
 * is the key of conditional creates on write-back: a token search cannot match the composite
 * `RESULT_IDENTIFIER_SYSTEM` values reliably, because `|` separates system from value in
 * search syntax and servers differ on `\|` escaping (medplum ignores it). Provenance has no
 * `identifier` in R4, so it carries the same key as a `meta.tag`.
 */
export const RESOURCE_KEY_SYSTEM = `${CANONICAL_BASE}/sid/ai-resource-key`;
/** Canonical URLs of the project's profiles (fhir-resources/StructureDefinition-*.json). */
export const PROFILES = {
  diagnosticReport: `${CANONICAL_BASE}/StructureDefinition/ai-preliminary-diagnostic-report`,
  observation: `${CANONICAL_BASE}/StructureDefinition/ai-finding-observation`,
  measurement: `${CANONICAL_BASE}/StructureDefinition/ai-measurement-observation`,
  cardiacMeasurement: `${CANONICAL_BASE}/StructureDefinition/ai-cardiac-measurement-observation`,
} as const;
/** Card override reasons. */
export const OVERRIDE_REASON_SYSTEM = `${CANONICAL_BASE}/CodeSystem/override-reason`;

/** Codes in the project's CodeSystem. */
export const PROJECT_CODES = {
  aiProbability: { system: PROJECT_CODESYSTEM, code: 'ai-probability', display: 'AI model probability' },
  aiThreshold: { system: PROJECT_CODESYSTEM, code: 'ai-decision-threshold', display: 'AI model decision threshold' },
  aiReviewBandLow: { system: PROJECT_CODESYSTEM, code: 'ai-review-band-low', display: 'AI review band lower bound' },
  aiReviewBandHigh: { system: PROJECT_CODESYSTEM, code: 'ai-review-band-high', display: 'AI review band upper bound' },
  aiAlgorithm: { system: PROJECT_CODESYSTEM, code: 'ai-algorithm', display: 'AI image analysis algorithm' },
  aiFieldOfView: { system: PROJECT_CODESYSTEM, code: 'ai-field-of-view-fraction', display: 'AI field of view share' },
  aiArea: { system: PROJECT_CODESYSTEM, code: 'ai-segmented-area', display: 'AI segmented area' },
} as const;

/** LOINC 18748-4 "Diagnostic imaging study": DiagnosticReport.code for our reports. */
export const DIAGNOSTIC_IMAGING_STUDY = { system: LOINC, code: '18748-4', display: 'Diagnostic imaging study' } as const;

/** DICOM body part (CID 4031) → SNOMED CT, for the body parts our models accept. */
export const BODY_PART_SNOMED: Readonly<Record<string, { code: string; display: string }>> = {
  CHEST: { code: '51185008', display: 'Thoracic structure' },
  BREAST: { code: '76752008', display: 'Breast structure' },
  EYE: { code: '81745001', display: 'Structure of eye proper' },
};

/**
 * The title of the DiagnosticReport's PNG of the analysed image without the AI map (beside the
 * overlay PNG): the viewer finds it by this title to fade the map in and out.
 */
export const ANALYSED_IMAGE_TITLE = 'Analysed image (as the model saw it, without the AI map)';
