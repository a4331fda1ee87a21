/**
 * Pure helpers over FHIR R4 imaging data (ImagingStudy, Endpoint, ServiceRequest, Bundle).
 *
 * No I/O: callers fetch resources with the FhirReader (or take them from prefetch) and use these
 * to pick out the StudyInstanceUID, the DICOMweb endpoints and the series. What leaves here is
 * plain data, so the dicom and analysis layers never depend on FHIR types.
 */
import type { Bundle, Coding, Endpoint, ImagingStudy, ServiceRequest } from 'fhir/r4.js';
import { CPT, DCM, DICOM_UID_SYSTEM, ENDPOINT_CONNECTION_TYPE, LOINC, RADLEX, SNOMED, V2_0074 } from '../terminology.js';
import type { ResourceOf, ResourceTypeName } from './types.js';

/** DICOM UID (PS3.5 § 9.1): dot-separated numeric components, no leading zeros, at most 64 characters. */
const DICOM_UID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;
const URN_OID = 'urn:oid:';

/** SNOMED CT 363679005 "Imaging", the imaging entry of the ServiceRequest category example value set. */
export const SNOMED_IMAGING_CATEGORY = '363679005';
/** endpoint-connection-type code for a DICOMweb WADO-RS root. */
export const WADO_RS_CONNECTION_TYPE = 'dicom-wado-rs';
/**
 * RadLex has been published under both spellings; Playbook codes are seen under either.
 * (Candidate for src/terminology.ts if other layers need it.)
 */
const RADLEX_SYSTEMS: ReadonlySet<string> = new Set([RADLEX, 'http://www.radlex.org']);
/** RadLex Playbook procedure ids (`RPID<n>`); RadLex lexicon terms (`RID<n>`) are not orderables. */
const RADLEX_PLAYBOOK_CODE = /^RPID[0-9]+$/;

/**
 * Whether a string is a syntactically valid DICOM UID.
 *
 * @param value - candidate UID
 * @returns `true` for e.g. `1.2.840.10008.1.2.1`
 */
export function isDicomUid(value: string): boolean {
  return value.length > 0 && value.length <= 64 && DICOM_UID.test(value);
}

/**
 * The StudyInstanceUID of an ImagingStudy: the identifier with system `urn:dicom:uid`, whose value
 * R4 writes as `urn:oid:<uid>`. A bare UID under that system is accepted too (some servers omit
 * the prefix); anything that is not a valid DICOM UID is ignored rather than sent to the PACS.
 *
 * @param study - the ImagingStudy
 * @returns The UID without the `urn:oid:` prefix, or `undefined` when the study has none.
 */
export function studyInstanceUid(study: ImagingStudy): string | undefined {
  for (const identifier of study.identifier ?? []) {
    if (identifier.system !== DICOM_UID_SYSTEM || identifier.value === undefined) continue;
    const raw = identifier.value.trim();
    const uid = raw.toLowerCase().startsWith(URN_OID) ? raw.slice(URN_OID.length) : raw;
    if (isDicomUid(uid)) return uid;
  }
  return undefined;
}

/**
 * Literal references to the study's endpoints: `ImagingStudy.endpoint` first, then each series'
 * `endpoint`, without duplicates. Which of them are WADO-RS roots is only known once read
 * (see {@link isWadoRsEndpoint}).
 *
 * @param study - the ImagingStudy
 * @returns Reference strings such as `Endpoint/pacs`, in order of preference.
 */
export function dicomWebEndpointRefs(study: ImagingStudy): string[] {
  const refs = new Set<string>();
  for (const ref of study.endpoint ?? []) {
    if (ref.reference !== undefined && ref.reference !== '') refs.add(ref.reference);
  }
  for (const series of study.series ?? []) {
    for (const ref of series.endpoint ?? []) {
      if (ref.reference !== undefined && ref.reference !== '') refs.add(ref.reference);
    }
  }
  return [...refs];
}

/**
 * Whether an Endpoint is an active DICOMweb WADO-RS root we can fetch pixels from:
 * `connectionType` endpoint-connection-type `dicom-wado-rs`, `status` `active`, and an address.
 * Suspended, off, error and test endpoints are not used.
 *
 * @param endpoint - the Endpoint
 * @returns `true` when usable for WADO-RS
 */
export function isWadoRsEndpoint(endpoint: Endpoint): boolean {
  return (
    endpoint.status === 'active' &&
    endpoint.connectionType.system === ENDPOINT_CONNECTION_TYPE &&
    endpoint.connectionType.code === WADO_RS_CONNECTION_TYPE &&
    typeof endpoint.address === 'string' &&
    endpoint.address.trim() !== ''
  );
}

/** A Coding as plain data. */
export interface CodingSummary {
  readonly system: string | undefined;
  readonly code: string | undefined;
  readonly display: string | undefined;
}

/** One series of an ImagingStudy as plain data. */
export interface SeriesSummary {
  /** SeriesInstanceUID. */
  readonly uid: string;
  /** DICOM modality code (CID 29), e.g. `CR`, `DX`, `CT`; `undefined` when coded in another system. */
  readonly modality: string | undefined;
  readonly bodySite: CodingSummary | undefined;
  readonly laterality: CodingSummary | undefined;
  readonly number: number | undefined;
  readonly description: string | undefined;
  /** SOPInstanceUIDs listed in the resource; often empty, since servers may omit instances. */
  readonly instanceUids: readonly string[];
  /** The series' own first endpoint reference, else the study's first; `undefined` when neither has one. */
  readonly endpointRef: string | undefined;
}

function codingSummary(coding: Coding | undefined): CodingSummary | undefined {
  if (coding === undefined) return undefined;
  return { system: coding.system, code: coding.code, display: coding.display };
}

function firstReference(refs: ReadonlyArray<{ readonly reference?: string | undefined }> | undefined): string | undefined {
  return refs?.find((r) => r.reference !== undefined && r.reference !== '')?.reference;
}

/**
 * The study's series as plain data. Series whose UID is not a valid DICOM UID are skipped: they
 * could not be requested from the PACS anyway, and a malformed UID must not reach a URL path.
 *
 * @param study - the ImagingStudy
 * @returns One summary per valid series, in resource order.
 */
export function seriesSummary(study: ImagingStudy): SeriesSummary[] {
  const studyEndpoint = firstReference(study.endpoint);
  const out: SeriesSummary[] = [];
  for (const series of study.series ?? []) {
    if (!isDicomUid(series.uid)) continue;
    const modality = series.modality.system === undefined || series.modality.system === DCM ? series.modality.code : undefined;
    out.push({
      uid: series.uid,
      modality,
      bodySite: codingSummary(series.bodySite),
      laterality: codingSummary(series.laterality),
      number: series.number,
      description: series.description,
      instanceUids: (series.instance ?? []).map((i) => i.uid).filter(isDicomUid),
      endpointRef: firstReference(series.endpoint) ?? studyEndpoint,
    });
  }
  return out;
}

/** Options of {@link isImagingServiceRequest}. */
export interface ImagingOrderRule {
  /**
   * LOINC codes the deployment orders imaging with (e.g. LOINC/RSNA Radiology Playbook codes in
   * its order catalogue). A LOINC code alone says nothing about imaging, since most of LOINC is
   * laboratory, so none is recognised by default.
   */
  readonly loincImagingCodes?: ReadonlySet<string> | undefined;
  /** Further order codes of the deployment's catalogue that mean imaging, as `system|code`. */
  readonly codes?: ReadonlySet<string> | undefined;
}

/** The CPT radiology section (AMA CPT: 70010–79999), five digits. */
export function isCptRadiologyCode(code: string | undefined): boolean {
  if (code === undefined || !/^[0-9]{5}$/.test(code.trim())) return false;
  const n = Number(code.trim());
  return n >= 70010 && n <= 79999;
}

/**
 * Whether a ServiceRequest orders imaging. The rule, in order:
 * 1. `category` has SNOMED CT 363679005 "Imaging" (R4's ServiceRequest category example set); or
 * 2. `category` has v2-0074 `RAD` (Radiology diagnostic service section), which some EHRs carry; or
 * 3. `code` has a RadLex Playbook procedure (`RPID<n>`, RadLex system under either spelling); or
 * 4. `code` has a CPT code of the radiology section (70010–79999), as many EHRs code orders
 *    without any category; or
 * 5. `code` has a LOINC code listed in `rule.loincImagingCodes`, or any `system|code` listed in
 *    `rule.codes`.
 * Free text is never used: "CT" in a lab order's text must not make it an imaging order. Empty
 * or partial Codings (no system, no code) are ignored, never an error.
 *
 * @param sr - the ServiceRequest
 * @param rule - deployment-specific LOINC order codes
 * @returns `true` when the request is an imaging order by this rule
 */
export function isImagingServiceRequest(sr: ServiceRequest, rule: ImagingOrderRule = {}): boolean {
  const categories = (sr.category ?? []).flatMap((c) => c.coding ?? []);
  if (categories.some((c) => c.system === SNOMED && c.code === SNOMED_IMAGING_CATEGORY)) return true;
  if (categories.some((c) => c.system === V2_0074 && c.code === 'RAD')) return true;
  const codes = sr.code?.coding ?? [];
  if (codes.some((c) => c.system !== undefined && RADLEX_SYSTEMS.has(c.system) && RADLEX_PLAYBOOK_CODE.test(c.code ?? ''))) {
    return true;
  }
  if (codes.some((c) => c.system === CPT && isCptRadiologyCode(c.code))) return true;
  const loinc = rule.loincImagingCodes;
  if (loinc !== undefined && codes.some((c) => c.system === LOINC && c.code !== undefined && loinc.has(c.code))) return true;
  const listed = rule.codes;
  return listed !== undefined && codes.some((c) => c.system !== undefined && c.code !== undefined && listed.has(`${c.system}|${c.code}`));
}

/**
 * The resources of one type in a Bundle (searchset, collection, or a prefetch value), in order.
 * Entries of other types, such as OperationOutcome warnings or `_include`d resources, are left out.
 *
 * @param bundle - the Bundle; `undefined`/`null` (a prefetch key with no data) or a non-Bundle gives `[]`
 * @param resourceType - the type to keep
 * @returns The matching resources.
 */
export function bundleEntries<K extends ResourceTypeName>(bundle: Bundle | null | undefined, resourceType: K): ResourceOf<K>[] {
  // Prefetch values arrive unvalidated: an OperationOutcome in place of a Bundle gives [] too.
  if (bundle?.resourceType !== 'Bundle' || !Array.isArray(bundle.entry)) return [];
  const out: ResourceOf<K>[] = [];
  for (const entry of bundle.entry) {
    const resource = entry.resource;
    if (resource?.resourceType === resourceType) out.push(resource as ResourceOf<K>);
  }
  return out;
}
