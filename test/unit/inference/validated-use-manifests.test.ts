/**
 * Every shipped model states its validated use in full: each rule is written out in its
 * manifest (an absent rule would silently mean "no restriction"), and the values are the ones
 * its training data supports.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseManifest } from '../../../src/inference/manifest.js';

const MODELS = path.resolve('models');
const shipped = readdirSync(MODELS, { withFileTypes: true })
  .filter((d) => d.isDirectory() && !d.name.startsWith('_'))
  .map((d) => d.name)
  .sort();

const RULES = ['modalities', 'missingViewPosition', 'photometricInterpretations', 'minRows', 'minColumns', 'patientAge'];

function manifestOf(id: string): { raw: Record<string, unknown>; parsed: ReturnType<typeof parseManifest> } {
  const text = readFileSync(path.join(MODELS, id, 'manifest.json'), 'utf8');
  return { raw: (JSON.parse(text) as { accepts: Record<string, unknown> }).accepts, parsed: parseManifest(text, path.join(MODELS, id)) };
}

describe('shipped manifests: validated use', () => {
  it('covers every model folder', () => {
    expect(shipped).toEqual(['breast-us-28', 'cardiac-mri-sax-seg', 'pneumonia-cxr-224', 'pneumonia-cxr-28', 'retina-dr-28', 'retina-vessels-drive']);
  });

  it.each(shipped)('%s writes out every rule, and names the basis of its age rule', (id) => {
    const { raw, parsed } = manifestOf(id);
    for (const rule of RULES) expect({ rule, stated: rule in raw }).toEqual({ rule, stated: true });
    expect(parsed.accepts.patientAge?.basis.length).toBeGreaterThan(40);
    expect(parsed.accepts.photometricInterpretations.length).toBeGreaterThan(0);
  });

  it.each(['pneumonia-cxr-224', 'pneumonia-cxr-28'])('%s is for children aged 1–5 (Kermany, Guangzhou), AP views only, refuses unknown ages and missing views', (id) => {
    const { accepts } = manifestOf(id).parsed;
    expect(accepts.patientAge).toMatchObject({ minYears: 1, maxYears: 5, unknown: 'refuse' });
    expect(accepts.patientAge?.basis).toMatch(/Kermany/);
    expect(accepts).toMatchObject({ viewPositions: ['AP'], missingViewPosition: 'refuse', photometricInterpretations: ['MONOCHROME1', 'MONOCHROME2'], minRows: 224, minColumns: 224 });
    expect(accepts.pixelSpacingMm).toBeUndefined();
  });

  it('breast-us-28 is for women aged 25–75 as BUSI describes its cohort, grey or colour-stored B-mode', () => {
    const { accepts } = manifestOf('breast-us-28').parsed;
    expect(accepts.patientAge).toMatchObject({ minYears: 25, maxYears: 75, unknown: 'refuse' });
    expect(accepts.photometricInterpretations).toEqual(['MONOCHROME2', 'RGB', 'YBR_FULL', 'YBR_FULL_422']);
  });

  it('retina-dr-28 states that its source gives no age range, and so has no age rule', () => {
    const { accepts } = manifestOf('retina-dr-28').parsed;
    expect(accepts.patientAge).toMatchObject({ unknown: 'accept' });
    expect(accepts.patientAge?.minYears ?? accepts.patientAge?.maxYears).toBeUndefined();
    expect(accepts.patientAge?.basis).toMatch(/no age range/);
  });

  it('retina-vessels-drive is for the DRIVE screening population (aged 25–90) at DRIVE resolution or above, colour only', () => {
    const { accepts } = manifestOf('retina-vessels-drive').parsed;
    expect(accepts.patientAge).toMatchObject({ minYears: 25, maxYears: 90, unknown: 'refuse' });
    expect(accepts).toMatchObject({ minRows: 584, minColumns: 565, missingViewPosition: 'accept' });
    expect(accepts.photometricInterpretations).not.toContain('MONOCHROME2');
  });
});
