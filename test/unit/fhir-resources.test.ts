import { readFileSync } from 'node:fs';
import type { CodeSystem } from 'fhir/r4.js';
import { cdsResponseJsonSchema } from '../../src/cds-hooks/response-schema.js';
import { OVERRIDE_REASONS } from '../../src/reports/override-reasons.js';
import { OVERRIDE_REASON_SYSTEM, PROJECT_CODES, PROJECT_CODESYSTEM } from '../../src/terminology.js';
import { validateR4 } from '../support/fhir-validator.js';

const read = <T>(file: string): T => JSON.parse(readFileSync(`fhir-resources/${file}`, 'utf8')) as T;

describe('published fhir-resources', () => {
  it('the project CodeSystem is valid R4 and defines every code the service emits', () => {
    const cs = read<CodeSystem>('CodeSystem-imaging-cds.json');
    expect(validateR4(cs)).toEqual([]);
    expect(cs.url).toBe(PROJECT_CODESYSTEM);
    const defined = new Map((cs.concept ?? []).map((c) => [c.code, c.display]));
    for (const c of Object.values(PROJECT_CODES)) expect([c.code, defined.get(c.code)]).toEqual([c.code, c.display]);
    expect(cs.count).toBe(cs.concept?.length);
  });

  it('the override-reason CodeSystem matches the reasons on cards', () => {
    const cs = read<CodeSystem>('CodeSystem-override-reason.json');
    expect(validateR4(cs)).toEqual([]);
    expect(cs.url).toBe(OVERRIDE_REASON_SYSTEM);
    expect((cs.concept ?? []).map((c) => ({ system: cs.url, code: c.code, display: c.display }))).toEqual(OVERRIDE_REASONS.map((r) => ({ ...r })));
  });

  it('the published CDS Hooks response JSON Schema is the one the validator uses', () => {
    expect(read<unknown>('cds-hooks-response.schema.json')).toEqual(cdsResponseJsonSchema());
  });
});
