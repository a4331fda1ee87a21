import type { Bundle, Endpoint, ImagingStudy, OperationOutcome, ServiceRequest } from 'fhir/r4.js';
import {
  bundleEntries,
  dicomWebEndpointRefs,
  isDicomUid,
  isImagingServiceRequest,
  isWadoRsEndpoint,
  seriesSummary,
  studyInstanceUid,
} from '../../../src/fhir/imaging.js';
import { CPT, DCM, DICOM_UID_SYSTEM, ENDPOINT_CONNECTION_TYPE, LOINC, RADLEX, SNOMED, V2_0074 } from '../../../src/terminology.js';

const UID = '1.2.826.0.1.3680043.8.498.10';

function study(extra: Partial<ImagingStudy> = {}): ImagingStudy {
  return { resourceType: 'ImagingStudy', status: 'available', subject: { reference: 'Patient/p1' }, ...extra };
}

describe('studyInstanceUid', () => {
  it('reads the urn:oid: value of the urn:dicom:uid identifier', () => {
    expect(studyInstanceUid(study({ identifier: [{ system: DICOM_UID_SYSTEM, value: `urn:oid:${UID}` }] }))).toBe(UID);
    expect(studyInstanceUid(study({ identifier: [{ system: DICOM_UID_SYSTEM, value: `URN:OID:${UID}` }] }))).toBe(UID);
  });

  it('accepts a bare UID under the DICOM system', () => {
    expect(studyInstanceUid(study({ identifier: [{ system: DICOM_UID_SYSTEM, value: UID }] }))).toBe(UID);
  });

  it('ignores other identifier systems, such as the accession number', () => {
    const s = study({
      identifier: [
        { system: 'http://hospital.example/accession', value: `urn:oid:9.9.9` },
        { system: DICOM_UID_SYSTEM, value: `urn:oid:${UID}` },
      ],
    });
    expect(studyInstanceUid(s)).toBe(UID);
  });

  it('never returns a malformed UID', () => {
    for (const value of ['urn:oid:1.2.abc', 'urn:oid:1.02.3', 'urn:oid:', 'urn:oid:1..2', `urn:oid:1.${'2'.repeat(70)}`, 'urn:oid:1.2/../x']) {
      expect(studyInstanceUid(study({ identifier: [{ system: DICOM_UID_SYSTEM, value }] }))).toBeUndefined();
    }
  });

  it('is undefined when the study has no UID', () => {
    expect(studyInstanceUid(study())).toBeUndefined();
    expect(studyInstanceUid(study({ identifier: [{ system: DICOM_UID_SYSTEM }] }))).toBeUndefined();
  });
});

describe('isDicomUid', () => {
  it('follows PS3.5 § 9.1', () => {
    expect(isDicomUid('1.2.840.10008.1.2.1')).toBe(true);
    expect(isDicomUid('0.0')).toBe(true);
    expect(isDicomUid('1.2.')).toBe(false);
    expect(isDicomUid('')).toBe(false);
  });
});

describe('dicomWebEndpointRefs', () => {
  it('lists study endpoints first, then series endpoints, without duplicates', () => {
    const s = study({
      endpoint: [{ reference: 'Endpoint/a' }, { display: 'no reference' }],
      series: [
        { uid: `${UID}.1`, modality: { code: 'CT' }, endpoint: [{ reference: 'Endpoint/b' }, { reference: 'Endpoint/a' }] },
        { uid: `${UID}.2`, modality: { code: 'CT' }, endpoint: [{ reference: 'Endpoint/c' }] },
      ],
    });
    expect(dicomWebEndpointRefs(s)).toEqual(['Endpoint/a', 'Endpoint/b', 'Endpoint/c']);
  });

  it('is empty when nothing names an endpoint', () => {
    expect(dicomWebEndpointRefs(study())).toEqual([]);
  });
});

describe('isWadoRsEndpoint', () => {
  const wado: Endpoint = {
    resourceType: 'Endpoint',
    status: 'active',
    connectionType: { system: ENDPOINT_CONNECTION_TYPE, code: 'dicom-wado-rs' },
    payloadType: [{ text: 'DICOM' }],
    address: 'https://pacs.example/dicom-web',
  };

  it('accepts an active dicom-wado-rs endpoint with an address', () => {
    expect(isWadoRsEndpoint(wado)).toBe(true);
  });

  it('refuses other connection types, other systems, inactive endpoints and blank addresses', () => {
    expect(isWadoRsEndpoint({ ...wado, connectionType: { system: ENDPOINT_CONNECTION_TYPE, code: 'dicom-qido-rs' } })).toBe(false);
    expect(isWadoRsEndpoint({ ...wado, connectionType: { system: 'http://example.org/local', code: 'dicom-wado-rs' } })).toBe(false);
    expect(isWadoRsEndpoint({ ...wado, status: 'suspended' })).toBe(false);
    expect(isWadoRsEndpoint({ ...wado, status: 'test' })).toBe(false);
    expect(isWadoRsEndpoint({ ...wado, address: ' ' })).toBe(false);
  });
});

describe('seriesSummary', () => {
  it('turns series into plain data, preferring the series endpoint over the study endpoint', () => {
    const s = study({
      endpoint: [{ reference: 'Endpoint/study-level' }],
      series: [
        {
          uid: `${UID}.1`,
          number: 1,
          description: 'PA',
          modality: { system: DCM, code: 'DX' },
          bodySite: { system: SNOMED, code: '51185008', display: 'Thoracic structure' },
          laterality: { system: SNOMED, code: '51440002', display: 'Bilateral' },
          endpoint: [{ reference: 'Endpoint/series-level' }],
          instance: [
            { uid: `${UID}.1.1`, sopClass: { code: 'urn:oid:1.2.840.10008.5.1.4.1.1.1.1' } },
            { uid: 'not-a-uid', sopClass: { code: 'x' } },
          ],
        },
        { uid: `${UID}.2`, modality: { code: 'CT' } },
      ],
    });
    expect(seriesSummary(s)).toEqual([
      {
        uid: `${UID}.1`,
        modality: 'DX',
        bodySite: { system: SNOMED, code: '51185008', display: 'Thoracic structure' },
        laterality: { system: SNOMED, code: '51440002', display: 'Bilateral' },
        number: 1,
        description: 'PA',
        instanceUids: [`${UID}.1.1`],
        endpointRef: 'Endpoint/series-level',
      },
      {
        uid: `${UID}.2`,
        modality: 'CT',
        bodySite: undefined,
        laterality: undefined,
        number: undefined,
        description: undefined,
        instanceUids: [],
        endpointRef: 'Endpoint/study-level',
      },
    ]);
  });

  it('skips series whose UID could not be sent to a PACS, and modalities coded outside DICOM', () => {
    const s = study({
      series: [
        { uid: '1.2/../../studies', modality: { system: DCM, code: 'CT' } },
        { uid: `${UID}.3`, modality: { system: 'http://example.org/local-modality', code: 'XRAY' } },
      ],
    });
    expect(seriesSummary(s)).toEqual([expect.objectContaining({ uid: `${UID}.3`, modality: undefined, endpointRef: undefined })]);
  });
});

describe('isImagingServiceRequest', () => {
  const base: ServiceRequest = { resourceType: 'ServiceRequest', status: 'draft', intent: 'order', subject: { reference: 'Patient/p1' } };

  it('recognises the SNOMED CT Imaging category', () => {
    expect(isImagingServiceRequest({ ...base, category: [{ coding: [{ system: SNOMED, code: '363679005' }] }] })).toBe(true);
  });

  it('recognises the v2-0074 RAD category', () => {
    expect(isImagingServiceRequest({ ...base, category: [{ coding: [{ system: V2_0074, code: 'RAD' }] }] })).toBe(true);
  });

  it('recognises RadLex Playbook procedure codes under either RadLex system URI, but not lexicon terms', () => {
    expect(isImagingServiceRequest({ ...base, code: { coding: [{ system: RADLEX, code: 'RPID1301' }] } })).toBe(true);
    expect(isImagingServiceRequest({ ...base, code: { coding: [{ system: 'http://www.radlex.org', code: 'RPID16' }] } })).toBe(true);
    expect(isImagingServiceRequest({ ...base, code: { coding: [{ system: RADLEX, code: 'RID5350' }] } })).toBe(false);
  });

  it('recognises LOINC codes only when the deployment lists them', () => {
    const chestXray = { ...base, code: { coding: [{ system: LOINC, code: '36643-5' }] } };
    expect(isImagingServiceRequest(chestXray)).toBe(false);
    expect(isImagingServiceRequest(chestXray, { loincImagingCodes: new Set(['36643-5']) })).toBe(true);
  });

  it('recognises CPT radiology codes (70010–79999) without any category, as the CDS Hooks sandbox orders', () => {
    expect(isImagingServiceRequest({ ...base, code: { coding: [{ system: CPT, code: '71250', display: 'CT thorax w/o contrast' }] } })).toBe(true);
    expect(isImagingServiceRequest({ ...base, code: { coding: [{ system: CPT, code: '70010' }] } })).toBe(true);
    expect(isImagingServiceRequest({ ...base, code: { coding: [{ system: CPT, code: '79999' }] } })).toBe(true);
    expect(isImagingServiceRequest({ ...base, code: { coding: [{ system: CPT, code: '80053' }] } })).toBe(false);
    expect(isImagingServiceRequest({ ...base, code: { coding: [{ system: CPT, code: '7125' }] } })).toBe(false);
    expect(isImagingServiceRequest({ ...base, code: { coding: [{ system: LOINC, code: '71250' }] } })).toBe(false);
  });

  it('recognises the deployment\'s own order codes as system|code', () => {
    const local = { ...base, code: { coding: [{ system: 'urn:oid:1.2.3.4', code: 'XR-CHEST-2V' }] } };
    expect(isImagingServiceRequest(local)).toBe(false);
    expect(isImagingServiceRequest(local, { codes: new Set(['urn:oid:1.2.3.4|XR-CHEST-2V']) })).toBe(true);
  });

  it('ignores empty and partial Codings instead of failing on them', () => {
    expect(isImagingServiceRequest({ ...base, category: [{ coding: [{}] }, {}], code: { coding: [{}, { system: CPT }, { code: '71250' }] } })).toBe(false);
    expect(isImagingServiceRequest({ ...base, category: [{}], code: { coding: [{}, { system: CPT, code: '71046' }] } })).toBe(true);
  });

  it('never decides from free text or from laboratory categories', () => {
    expect(isImagingServiceRequest({ ...base, code: { text: 'CT chest' } })).toBe(false);
    expect(isImagingServiceRequest({ ...base, category: [{ coding: [{ system: SNOMED, code: '108252007' }] }] })).toBe(false);
    expect(isImagingServiceRequest({ ...base, category: [{ coding: [{ system: 'http://example.org', code: '363679005' }] }] })).toBe(false);
  });
});

describe('bundleEntries', () => {
  const sr: ServiceRequest = { resourceType: 'ServiceRequest', id: 'sr', status: 'draft', intent: 'order', subject: { reference: 'Patient/p1' } };
  const outcome: OperationOutcome = { resourceType: 'OperationOutcome', issue: [{ severity: 'warning', code: 'incomplete' }] };

  it('keeps the resources of the asked type, in order', () => {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [{ resource: sr }, { resource: outcome }, { resource: { ...sr, id: 'sr2' } }, {}],
    };
    expect(bundleEntries(bundle, 'ServiceRequest').map((r) => r.id)).toEqual(['sr', 'sr2']);
    expect(bundleEntries(bundle, 'ImagingStudy')).toEqual([]);
  });

  it('gives [] for a missing prefetch value, an empty Bundle, or an OperationOutcome in its place', () => {
    expect(bundleEntries(undefined, 'ServiceRequest')).toEqual([]);
    expect(bundleEntries(null, 'ServiceRequest')).toEqual([]);
    expect(bundleEntries({ resourceType: 'Bundle', type: 'searchset' }, 'ServiceRequest')).toEqual([]);
    expect(bundleEntries(outcome as unknown as Bundle, 'ServiceRequest')).toEqual([]);
  });
});
