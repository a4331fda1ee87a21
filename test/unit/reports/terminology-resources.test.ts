/**
 * The ValueSets and the label ConceptMap in fhir-resources/ are valid R4 and in step with what
 * the service emits: every project code is in its ValueSet, and the ConceptMap maps exactly the
 * reported labels of the shipped model manifests to the codes those labels carry.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import type { CodeSystem, ConceptMap, ValueSet } from 'fhir/r4.js';
import { CANONICAL_BASE, PROJECT_CODESYSTEM, OVERRIDE_REASON_SYSTEM } from '../../../src/terminology.js';
import { validateR4 } from '../../support/fhir-validator.js';

const read = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

interface ManifestLabel { key: string; report: boolean; codes?: { system: string; code: string }[] }

describe('ValueSets and ConceptMap', () => {
  it('ValueSets include the project CodeSystems and are valid R4', () => {
    const codes = read<ValueSet>('fhir-resources/ValueSet-imaging-cds.json');
    const reasons = read<ValueSet>('fhir-resources/ValueSet-override-reason.json');
    expect(validateR4(codes)).toEqual([]);
    expect(validateR4(reasons)).toEqual([]);
    expect(codes.compose?.include).toEqual([{ system: PROJECT_CODESYSTEM }]);
    expect(reasons.compose?.include).toEqual([{ system: OVERRIDE_REASON_SYSTEM }]);
    expect(read<CodeSystem>('fhir-resources/CodeSystem-imaging-cds.json').url).toBe(PROJECT_CODESYSTEM);
  });

  it('the ConceptMap maps every reported label of every shipped model, and nothing else', () => {
    const map = read<ConceptMap>('fhir-resources/ConceptMap-model-label-to-finding-code.json');
    expect(validateR4(map)).toEqual([]);
    const mapped = (map.group ?? []).flatMap((g) => g.element.flatMap((e) => (e.target ?? []).map((t) => `${e.code} -> ${g.target ?? ''}|${t.code ?? ''}`))).sort();
    const expected: string[] = [];
    // A model folder without a manifest is work in progress (training code only), not shipped.
    for (const dir of readdirSync('models', { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(`models/${d.name}/manifest.json`))) {
      const m = read<{ id: string; output: { labels?: ManifestLabel[]; classes?: { key: string; codes: { system: string; code: string }[] }[] } }>(`models/${dir.name}/manifest.json`);
      // Classifiers map their reported labels, segmentation models their classes.
      const coded = [...(m.output.labels ?? []).filter((x) => x.report), ...(m.output.classes ?? [])];
      for (const l of coded) for (const c of l.codes ?? []) expected.push(`${m.id}/${l.key} -> ${c.system}|${c.code}`);
    }
    expect(mapped).toEqual(expected.sort());
    for (const g of map.group ?? []) expect(g.source).toBe(`${CANONICAL_BASE}/CodeSystem/model-label`);
  });
});
