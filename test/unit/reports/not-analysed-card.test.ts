/**
 * The result hook's "not analysed" card, when a model refused a study outside its validated use:
 * it names the model and the rule, says so in those words, and lists those reasons first.
 */
import path from 'node:path';
import { loadTemplates } from '../../../src/reports/engine.js';
import { renderNotAnalysedCard } from '../../../src/reports/context-cards.js';
import { validateCdsResponse } from '../../../src/cds-hooks/response-schema.js';

const templates = loadTemplates(path.resolve('templates'));
const study = { studyInstanceUid: 'cxr-9', description: 'XR CHEST AP', date: '2026-10-01T09:30:00Z' };

describe('not-analysed card', () => {
  it('says which model did not analyse the study, why, and that it is outside its validated use', () => {
    const card = renderNotAnalysedCard(templates, study, ['modality DX is not one the model accepts (US)'], [
      { modelName: 'Paediatric pneumonia classifier', reason: "the patient's age at the study is outside the ages 1–5 years the model was validated on" },
    ]);
    expect(validateCdsResponse({ cards: [card] })).toEqual([]);
    expect(card.indicator).toBe('info');
    expect(card.summary).toBe('Imaging AI did not analyse this study (not a finding): outside its validated use');
    const lines = (card.detail ?? '').split('\n').filter((l) => l.startsWith('- '));
    expect(lines[0]).toBe("- Not analysed by Paediatric pneumonia classifier: the patient's age at the study is outside the ages 1–5 years the model was validated on; outside its validated use");
    expect(lines[1]).toBe('- modality DX is not one the model accepts (US)');
  });

  it('keeps the plain summary when no model refused on its validated use', () => {
    const card = renderNotAnalysedCard(templates, study, ['no DICOMweb endpoint for this series and no default configured']);
    expect(card.summary).toBe('Imaging AI did not analyse this study (not a finding): see why');
    expect(card.detail).not.toContain('validated use');
  });
});
