import { validateCdsResponse } from '../../../src/cds-hooks/response-schema.js';

const card = {
  summary: 'Preliminary AI: possible pneumonia (87.0%); needs confirmation',
  indicator: 'warning',
  source: { label: 'Imaging AI' },
};

describe('CDS Hooks response validator', () => {
  it('accepts an empty card list', () => {
    expect(validateCdsResponse({ cards: [] })).toEqual([]);
  });

  it('accepts a minimal card', () => {
    expect(validateCdsResponse({ cards: [card] })).toEqual([]);
  });

  it('rejects a missing cards array', () => {
    expect(validateCdsResponse({})).toEqual(expect.arrayContaining([expect.stringContaining('$.cards')]));
  });

  it('rejects a summary of 140 characters or more', () => {
    expect(validateCdsResponse({ cards: [{ ...card, summary: 'x'.repeat(140) }] }).join()).toContain('shorter than 140');
  });

  it('rejects the 1.0 indicator hard-stop', () => {
    expect(validateCdsResponse({ cards: [{ ...card, indicator: 'hard-stop' }] }).join()).toContain('indicator');
  });

  it('rejects unknown card fields', () => {
    expect(validateCdsResponse({ cards: [{ ...card, severity: 'high' }] }).join()).toContain('severity');
  });

  it('rejects null, empty strings, empty arrays and empty objects', () => {
    const problems = validateCdsResponse({ cards: [{ ...card, detail: '', links: [], source: { label: 'x', topic: null } }] });
    expect(problems).toEqual(
      expect.arrayContaining([
        '$.cards[0].detail is an empty string',
        '$.cards[0].links is an empty array',
        '$.cards[0].source.topic is null',
      ]),
    );
    expect(validateCdsResponse({ cards: [{ ...card, suggestions: [{ label: 'x', actions: [{ type: 'create', description: 'd', resource: {} }] }], selectionBehavior: 'any' }] }).join()).toContain('empty object');
  });

  it('requires selectionBehavior when suggestions are present', () => {
    expect(validateCdsResponse({ cards: [{ ...card, suggestions: [{ label: 'Save' }] }] }).join()).toContain('selectionBehavior is required');
  });

  it('allows at most one recommended suggestion under at-most-one', () => {
    const suggestions = [
      { label: 'A', isRecommended: true },
      { label: 'B', isRecommended: true },
    ];
    expect(validateCdsResponse({ cards: [{ ...card, suggestions, selectionBehavior: 'at-most-one' }] }).join()).toContain('at most one suggestion');
    expect(validateCdsResponse({ cards: [{ ...card, suggestions, selectionBehavior: 'any' }] })).toEqual([]);
  });

  it('requires resourceId and forbids resource on delete actions', () => {
    const bad = { type: 'delete', description: 'Remove', resource: { resourceType: 'Observation' } };
    const problems = validateCdsResponse({ cards: [{ ...card, suggestions: [{ label: 'x', actions: [bad] }], selectionBehavior: 'any' }] }).join();
    expect(problems).toContain('requires resourceId');
    expect(problems).toContain('must not carry resource');
  });

  it('requires a description on every action and a resource on create', () => {
    const noDescription = validateCdsResponse({ cards: [{ ...card, suggestions: [{ label: 'x', actions: [{ type: 'create', resource: { resourceType: 'Observation' } }] }], selectionBehavior: 'any' }] });
    expect(noDescription.join()).toContain('actions.0.description');
    const noResource = validateCdsResponse({ cards: [{ ...card, suggestions: [{ label: 'x', actions: [{ type: 'create', description: 'Save' }] }], selectionBehavior: 'any' }] });
    expect(noResource.join()).toContain('create action requires resource');
  });

  it('allows appContext only on smart links', () => {
    const link = { label: 'Viewer', url: 'https://viewer.example.org/', type: 'absolute', appContext: 'study=1' };
    expect(validateCdsResponse({ cards: [{ ...card, links: [link] }] }).join()).toContain('appContext is only allowed on smart links');
    expect(validateCdsResponse({ cards: [{ ...card, links: [{ ...link, type: 'smart' }] }] })).toEqual([]);
  });

  it('requires a display on every override reason', () => {
    expect(validateCdsResponse({ cards: [{ ...card, overrideReasons: [{ system: 'http://x', code: 'y' }] }] }).join()).toContain('overrideReasons');
  });
});
