/**
 * The test-side R4 validator: what it accepts, what it catches, and which layer catches what
 * (StructureDefinitions via medplum, required bindings via the official R4 JSON Schema, JSON rules).
 */
import { createHash } from 'node:crypto';
import type { Bundle, Device, DiagnosticReport, Observation, Provenance } from 'fhir/r4.js';
import {
  LOINC,
  OBSERVATION_CATEGORY,
  PROJECT_CODES,
  PROVENANCE_PARTICIPANT_TYPE,
  SNOMED,
  UCUM,
  V2_0074,
  V3_DATA_OPERATION,
  V3_OBSERVATION_INTERPRETATION,
} from '../../src/terminology.js';
import { expectValidR4, validateR4 } from '../support/fhir-validator.js';

const reportHtml = Buffer.from('<p>Preliminary AI finding: consolidation, right lower lobe.</p>');

const pneumonia = { system: SNOMED, code: '233604007', display: 'Pneumonia' };

const observation: Observation = {
  resourceType: 'Observation',
  id: 'obs1',
  status: 'preliminary',
  category: [{ coding: [{ system: OBSERVATION_CATEGORY, code: 'imaging', display: 'Imaging' }] }],
  code: { coding: [pneumonia] },
  subject: { reference: 'Patient/p1' },
  derivedFrom: [{ reference: 'ImagingStudy/study1' }],
  device: { reference: 'Device/algo' },
  valueBoolean: true,
  interpretation: [{ coding: [{ system: V3_OBSERVATION_INTERPRETATION, code: 'POS', display: 'Positive' }] }],
  component: [
    {
      code: { coding: [PROJECT_CODES.aiProbability] },
      valueQuantity: { value: 0.87, unit: '1', system: UCUM, code: '1' },
    },
  ],
};

const report: DiagnosticReport = {
  resourceType: 'DiagnosticReport',
  id: 'dr1',
  status: 'preliminary',
  category: [{ coding: [{ system: V2_0074, code: 'RAD', display: 'Radiology' }] }],
  code: { coding: [{ system: LOINC, code: '18748-4', display: 'Diagnostic imaging study' }] },
  subject: { reference: 'Patient/p1' },
  issued: '2024-05-01T10:00:00Z',
  imagingStudy: [{ reference: 'ImagingStudy/study1' }],
  result: [{ reference: 'Observation/obs1' }],
  conclusion: 'Findings suggestive of pneumonia. Preliminary AI output, not reviewed by a radiologist.',
  conclusionCode: [{ coding: [pneumonia] }],
  presentedForm: [
    {
      contentType: 'text/html',
      data: reportHtml.toString('base64'),
      size: reportHtml.length,
      hash: createHash('sha1').update(reportHtml).digest('base64'),
    },
  ],
};

const device: Device = {
  resourceType: 'Device',
  id: 'algo',
  status: 'active',
  manufacturer: 'Imaging CDS project',
  deviceName: [{ name: 'cxr-pneumonia', type: 'model-name' }],
  type: { coding: [PROJECT_CODES.aiAlgorithm] },
  version: [{ value: '1.0.0' }],
  property: [{ type: { coding: [PROJECT_CODES.aiThreshold] }, valueQuantity: [{ value: 0.5 }] }],
};

const provenance: Provenance = {
  resourceType: 'Provenance',
  target: [{ reference: 'DiagnosticReport/dr1' }, { reference: 'Observation/obs1' }],
  recorded: '2024-05-01T10:00:00.123Z',
  activity: { coding: [{ system: V3_DATA_OPERATION, code: 'CREATE', display: 'create' }] },
  agent: [
    {
      type: { coding: [{ system: PROVENANCE_PARTICIPANT_TYPE, code: 'assembler', display: 'Assembler' }] },
      who: { reference: 'Device/algo' },
    },
  ],
  entity: [{ role: 'source', what: { reference: 'ImagingStudy/study1' } }],
};

/** A deep copy with changes, typed loosely on purpose: invalid resources do not type-check. */
function mutate(resource: unknown, change: (r: Record<string, unknown>) => void): Record<string, unknown> {
  const copy = structuredClone(resource) as Record<string, unknown>;
  change(copy);
  return copy;
}

function only(errors: string[], tag: string): string[] {
  return errors.filter((e) => e.endsWith(`[${tag}]`));
}

describe('valid resources', () => {
  it.each([
    ['DiagnosticReport', report],
    ['Observation', observation],
    ['Device', device],
    ['Provenance', provenance],
  ])('accepts a well-formed %s', (_name, resource) => {
    expect(validateR4(resource)).toEqual([]);
    expectValidR4(resource);
  });

  it('accepts a Bundle and contained resources, validating each against its own type', () => {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ fullUrl: 'urn:uuid:0d6b3c38-7f0a-4b4e-8a59-9d6f27a9a001', resource: report }, { resource: observation }],
    };
    expect(validateR4(bundle)).toEqual([]);
    const withContained = { ...report, result: [{ reference: '#obs' }], contained: [{ ...observation, id: 'obs' }] };
    expect(validateR4(withContained)).toEqual([]);
  });
});

describe('invalid resources', () => {
  it('catches a code outside a required binding, which only the R4 JSON Schema checks', () => {
    const errors = validateR4(mutate(report, (r) => (r['status'] = 'prelim')));
    expect(errors).toEqual([expect.stringMatching(/^DiagnosticReport\.status: not in the required value set \(registered \| partial \| preliminary/)]);
    // medplum's StructureDefinition validation skips bindings: the whole reason for the second layer.
    expect(only(errors, 'StructureDefinition')).toEqual([]);
  });

  it('catches required-binding codes in nested elements and contained resources', () => {
    const badRole = mutate(provenance, (r) => (r['entity'] = [{ role: 'origin', what: { reference: 'ImagingStudy/study1' } }]));
    expect(validateR4(badRole)).toEqual([expect.stringMatching(/^Provenance\.entity\[0\]\.role: not in the required value set/)]);
    const contained = { ...report, result: [{ reference: '#obs' }], contained: [{ ...observation, id: 'obs', status: 'done' }] };
    expect(validateR4(contained)).toEqual([expect.stringMatching(/^DiagnosticReport\.contained\[0\]\.status: not in the required value set/)]);
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: observation }, { resource: contained }] };
    expect(validateR4(bundle)).toEqual([
      expect.stringMatching(/^Bundle\.entry\[1\]\.resource\.contained\[0\]\.status: not in the required value set/),
    ]);
  });

  it('catches a missing required element', () => {
    const errors = validateR4(mutate(observation, (r) => delete r['code']));
    expect(errors).toContainEqual(expect.stringMatching(/^Observation\.code: Missing required property/));
  });

  it('catches an unknown property', () => {
    const errors = validateR4(mutate(device, (r) => (r['modelVersion'] = '1.0')));
    expect(errors).toContainEqual(expect.stringMatching(/^Device\.modelVersion: Invalid additional property/));
  });

  it('catches a wrong JSON type', () => {
    const errors = validateR4(
      mutate(observation, (r) => (r['component'] = [{ code: { coding: [PROJECT_CODES.aiProbability] }, valueQuantity: { value: '0.87' } }])),
    );
    expect(errors).toContainEqual(expect.stringMatching(/^Observation\.component\[0\]\.value\[x\]\.value: Invalid JSON type: expected number, but got string/));
  });

  it('catches empty strings and empty arrays, which FHIR JSON forbids', () => {
    expect(validateR4(mutate(observation, (r) => (r['subject'] = { reference: '' })))).toContainEqual(
      'Observation.subject.reference: empty string (FHIR JSON forbids "")',
    );
    expect(validateR4(mutate(report, (r) => (r['result'] = [])))).toEqual(['DiagnosticReport.result: empty array (FHIR JSON forbids [])']);
  });

  it('catches whitespace-only strings, nulls and empty objects', () => {
    expect(validateR4(mutate(report, (r) => (r['conclusion'] = '   ')))).not.toEqual([]);
    expect(validateR4(mutate(report, (r) => (r['issued'] = null)))).not.toEqual([]);
    expect(validateR4(mutate(report, (r) => (r['code'] = {})))).not.toEqual([]);
  });

  it('catches a malformed date-time', () => {
    expect(validateR4(mutate(provenance, (r) => (r['recorded'] = '2024-05-01 10:00')))).toContainEqual(
      expect.stringMatching(/^Provenance\.recorded: Invalid instant format/),
    );
  });

  it('checks invariants: obs-7 (a component must not repeat Observation.code when a value is present)', () => {
    const errors = validateR4(
      mutate(observation, (r) => (r['component'] = [{ code: { coding: [{ ...pneumonia, display: 'Pneumonia (disorder)' }] }, valueQuantity: { value: 0.9 } }])),
    );
    expect(errors).toEqual([expect.stringMatching(/^Observation: Constraint obs-7 not met/)]);
    // Without a top-level value the same component is allowed.
    expect(validateR4(mutate(observation, (r) => {
      delete r['valueBoolean'];
      r['component'] = [{ code: { coding: [pneumonia] }, valueQuantity: { value: 0.9 } }];
    }))).toEqual([]);
  });

  it('catches obs-7 in parsed JSON, where medplum alone does not', () => {
    // medplum compares complex FHIRPath values by identity: a component sharing the very object
    // of Observation.code trips its obs-7, an equal copy (what JSON.parse produces) does not.
    const shared = { coding: [pneumonia] };
    const parsed = JSON.parse(JSON.stringify({ ...observation, code: shared, component: [{ code: shared, valueBoolean: true }] })) as unknown;
    const errors = validateR4(parsed);
    expect(only(errors, 'StructureDefinition')).toEqual([]);
    expect(errors).toEqual([expect.stringMatching(/^Observation: Constraint obs-7 not met.*\[invariant re-check\]$/)]);
  });

  it('checks obs-7 in contained Observations too', () => {
    const bad = { ...observation, id: 'obs', component: [{ code: { coding: [pneumonia] }, valueBoolean: true }] };
    const errors = validateR4({ ...report, result: [{ reference: '#obs' }], contained: [bad] });
    expect(errors).toEqual([expect.stringMatching(/^DiagnosticReport\.contained\[0\]: Constraint obs-7 not met/)]);
  });

  it('checks invariants: obs-6 (dataAbsentReason only without a value)', () => {
    const errors = validateR4(mutate(observation, (r) => (r['dataAbsentReason'] = { text: 'not computed' })));
    expect(errors).toEqual([expect.stringMatching(/^Observation: Constraint obs-6 not met/)]);
  });

  it('rejects what is not an R4 resource', () => {
    expect(validateR4({ resourceType: 'Finding' })).not.toEqual([]);
    expect(validateR4('Observation')).toEqual(['resource: not a JSON object with a resourceType']);
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Finding' } }] };
    expect(validateR4(bundle)).toContainEqual(expect.stringMatching(/Bundle\.entry\[0\]\.resource: is not a resource of a known R4 type/));
  });

  it('expectValidR4 fails with every problem listed', () => {
    const bad = mutate(report, (r) => {
      r['status'] = 'prelim';
      r['subject'] = { reference: '' };
    });
    expect(() => {
      expectValidR4(bad);
    }).toThrow(/DiagnosticReport\/dr1 is not valid FHIR R4:\n {2}- DiagnosticReport\.status: .*\n {2}- DiagnosticReport\.subject\.reference: /);
  });
});
