import path from 'node:path';
import { loadTemplates, unsafeJsonInterpolations, markdownEscape } from '../../../src/reports/engine.js';
import { composeSummary } from '../../../src/reports/finding-text.js';
import { renderResult } from '../../../src/reports/render.js';
import { renderPriorFindingCard, renderRecentStudyCard } from '../../../src/reports/context-cards.js';
import { conditionalCreateQuery, resultBundle } from '../../../src/reports/result-bundle.js';
import { RESOURCE_KEY_SYSTEM } from '../../../src/terminology.js';
import type { RenderInput, Finding } from '../../../src/reports/types.js';
import type { ServiceRequest } from 'fhir/r4.js';
import { validateCdsResponse } from '../../../src/cds-hooks/response-schema.js';
import { validateR4 } from '../../support/fhir-validator.js';

const templates = loadTemplates(path.resolve('templates'));

const HOSTILE = 'Evil "quote" \\ back\nnew line {{json x}} </div><script>alert(1)</script> | table | *bold* é中文🙂';

const finding = (over: Partial<Finding> = {}): Finding => ({
  key: 'pneumonia',
  display: 'Pneumonia',
  codes: [
    { system: 'http://snomed.info/sct', code: '233604007', display: 'Pneumonia' },
    { system: 'http://radlex.org', code: 'RID5350', display: 'pneumonia' },
  ],
  probability: 0.873,
  threshold: 0.5,
  reviewBand: [0.35, 0.65],
  interpretation: 'positive',
  needsReview: false,
  urgency: 'warning',
  ...over,
});

function input(over: Partial<RenderInput> = {}, text = 'Chest AP'): RenderInput {
  return {
    subject: {
      patientReference: 'Patient/p1',
      imagingStudyReference: 'ImagingStudy/s1',
      serviceRequestReference: 'ServiceRequest/o1',
      studyInstanceUid: '1.2.826.0.1.3680043.8.498.1',
      studyDescription: text,
      studyDate: '2026-11-20T10:00:00Z',
    },
    series: { seriesInstanceUid: '1.2.3.4', description: text, modality: 'DX', bodyPart: 'CHEST', viewPosition: 'AP', imageCount: 1, selectionReason: text },
    model: {
      id: 'pneumonia-cxr-28',
      version: '1.0.0',
      name: text,
      manufacturer: text,
      task: 'classification',
      intendedUse: text,
      templates: { card: 'classification-card', report: 'classification-report' },
      performance: text,
    },
    findings: [finding()],
    measurements: [],
    issued: '2026-11-23T12:00:00.000Z',
    viewerUrl: undefined,
    ...over,
  };
}

function expectAllValid(result: ReturnType<typeof renderResult>): void {
  expect(validateCdsResponse({ cards: [result.card] })).toEqual([]);
  for (const r of [result.diagnosticReport, ...result.observations, result.device, result.provenance]) {
    expect({ resourceType: r.resourceType, problems: validateR4(r) }).toEqual({ resourceType: r.resourceType, problems: [] });
  }
}

describe('report rendering', () => {
  it('renders a positive finding into a valid card and valid R4 resources', () => {
    const result = renderResult(templates, input());
    expectAllValid(result);
    expect(result.card.indicator).toBe('warning');
    expect(result.card.summary).toBe('Preliminary AI: possible pneumonia (87.3%); needs confirmation');
    expect(result.card.detail).toContain('Preliminary AI result — requires confirmation');
    expect(result.diagnosticReport.status).toBe('preliminary');
    expect(result.diagnosticReport.basedOn).toEqual([{ reference: 'ServiceRequest/o1' }]);
    expect(result.diagnosticReport.conclusion).toMatch(/^Preliminary AI result, not a diagnosis/);
    expect(result.diagnosticReport.conclusionCode?.[0]?.coding?.[0]?.code).toBe('233604007');
    expect(result.observations[0]?.interpretation?.[0]?.coding?.[0]?.code).toBe('POS');
    expect(result.observations[0]?.component?.[0]?.valueQuantity).toEqual({ value: 87.3, unit: '%', system: 'http://unitsofmeasure.org', code: '%' });
  });

  it('keeps hostile strings as data: valid JSON, escaped XHTML, inert Markdown', () => {
    const result = renderResult(templates, input({}, HOSTILE));
    expectAllValid(result);
    expect(result.device.deviceName?.[0]?.name).toBe(HOSTILE);
    expect(result.device.manufacturer).toBe(HOSTILE);
    const div = result.diagnosticReport.text?.div ?? '';
    expect(div).not.toContain('<script>');
    expect(div).toContain('&lt;script&gt;');
    // Markdown: no raw newline from data can start a new block; table pipes are escaped.
    expect(result.card.detail).toContain('Evil "quote" \\\\ back new line');
    expect(result.card.detail).toContain('\\| table \\|');
    expect(result.card.detail).toContain('é中文🙂');
  });

  it('hashes and sizes the presented form exactly', async () => {
    const { createHash } = await import('node:crypto');
    const form = renderResult(templates, input()).diagnosticReport.presentedForm?.[0];
    const bytes = Buffer.from(form?.data ?? '', 'base64');
    expect(form?.size).toBe(bytes.length);
    expect(form?.hash).toBe(createHash('sha1').update(bytes).digest('base64'));
    expect(bytes.toString('utf8')).toContain('Preliminary AI result');
  });

  it('says review is required for a finding in the review band', () => {
    const result = renderResult(templates, input({ findings: [finding({ probability: 0.48, interpretation: 'negative', needsReview: true })] }));
    expectAllValid(result);
    expect(result.card.indicator).toBe('warning');
    expect(result.card.summary).toContain('review required');
    expect(result.card.detail).toContain('radiologist review required');
    expect(result.observations[0]?.interpretation?.[0]?.coding?.[0]?.code).toBe('IND');
    expect(result.diagnosticReport.conclusionCode).toBeUndefined();
  });

  it('renders a negative finding as info with no conclusion code and no basedOn when no order is known', () => {
    const base = input({ findings: [finding({ probability: 0.05, interpretation: 'negative' })] });
    const result = renderResult(templates, { ...base, subject: { ...base.subject, serviceRequestReference: undefined } });
    expectAllValid(result);
    expect(result.card.indicator).toBe('info');
    expect(result.card.summary).toBe('Preliminary AI: no pneumonia suspected; needs confirmation');
    expect(result.diagnosticReport.basedOn).toBeUndefined();
    expect(result.observations[0]?.valueCodeableConcept?.coding?.[0]?.code).toBe('2667000');
  });

  it('gives the same ids for the same study, model and version', () => {
    const a = renderResult(templates, input());
    const b = renderResult(templates, { ...input(), issued: '2027-01-01T00:00:00.000Z' });
    expect(b.diagnosticReport.id).toBe(a.diagnosticReport.id);
    expect(b.card.uuid).toBe(a.card.uuid);
    expect(a.diagnosticReport.result).toEqual([{ reference: `Observation/${a.observations[0]?.id ?? ''}` }]);
    expect(a.provenance.target).toEqual([{ reference: `DiagnosticReport/${a.diagnosticReport.id ?? ''}` }, { reference: `Observation/${a.observations[0]?.id ?? ''}` }]);
  });

  it('adds a viewer link when one is configured', () => {
    const result = renderResult(templates, input({ viewerUrl: 'https://viewer.example.org/study' }));
    expect(result.card.links).toEqual([{ label: 'Open the study in the image viewer', url: 'https://viewer.example.org/study', type: 'absolute' }]);
    expectAllValid(result);
  });

  it('adds a smart link with the study in appContext when a SMART viewer is configured', () => {
    const result = renderResult(templates, input({ viewerUrl: 'https://viewer.example.org/study', smartViewer: { url: 'https://smart.example.org/launch', label: 'Open in viewer app' } }));
    expectAllValid(result);
    expect(result.card.links?.map((l) => l.type)).toEqual(['absolute', 'smart']);
    const smart = result.card.links?.[1];
    expect(smart).toMatchObject({ url: 'https://smart.example.org/launch', label: 'Open in viewer app' });
    expect(JSON.parse(smart?.appContext ?? '{}')).toEqual({ imagingStudy: 'ImagingStudy/s1', studyInstanceUid: '1.2.826.0.1.3680043.8.498.1' });
    expect(result.card.links?.[0]?.appContext).toBeUndefined();
  });

  it('packs results into a transaction of conditional creates linked by urn:uuid, Device once', () => {
    const a = renderResult(templates, input());
    const other = input();
    const b = renderResult(templates, { ...other, subject: { ...other.subject, studyInstanceUid: '1.2.3.999' } });
    const bundle = resultBundle([a, b], 'transaction', '2026-11-23T12:00:00.000Z');
    expect(validateR4(bundle)).toEqual([]);
    const entries = bundle.entry ?? [];
    expect(entries.map((e) => e.resource?.resourceType)).toEqual(['Device', 'Observation', 'Observation', 'DiagnosticReport', 'DiagnosticReport', 'Provenance', 'Provenance']);
    for (const e of entries) {
      expect(e.resource?.id).toBeUndefined();
      expect(e.request?.method).toBe('POST');
      expect(e.request?.ifNoneExist).toMatch(/^(identifier|_tag)=/);
      expect(decodeURIComponent(e.request?.ifNoneExist ?? '')).toBe(`${e.resource?.resourceType === 'Provenance' ? '_tag' : 'identifier'}=${RESOURCE_KEY_SYSTEM}|${e.fullUrl?.slice('urn:uuid:'.length) ?? ''}`);
    }
    const report = entries[3]?.resource as unknown as { result: { reference: string }[]; subject: { reference: string } };
    expect(report.result).toEqual([{ reference: entries[1]?.fullUrl }]);
    expect(report.subject).toEqual({ reference: 'Patient/p1' });
    expect(conditionalCreateQuery(a.device)).toBe(`identifier=${encodeURIComponent(`${RESOURCE_KEY_SYSTEM}|${a.device.id ?? ''}`)}`);
  });

  it('keeps summaries under 140 characters however long the labels', () => {
    const long = finding({ display: 'x'.repeat(300) });
    expect(composeSummary([long, long]).length).toBeLessThan(140);
  });

  it('renders prior-finding and recent-study cards that pass the validator', () => {
    const prior = renderPriorFindingCard(templates, { studyInstanceUid: '1.2', description: HOSTILE, date: '2026-11-01' }, input().model, [finding()], undefined);
    const recent = renderRecentStudyCard(templates, { studyInstanceUid: '1.2', description: HOSTILE, date: '2026-11-21' }, 'CHEST', 2);
    expect(validateCdsResponse({ cards: [prior, recent] })).toEqual([]);
    expect(prior.summary).toBe('Prior study (2026-11-01): preliminary AI suggests possible pneumonia (87.3%)');
    expect(recent.summary).toBe('A chest imaging study was done 2 day(s) ago: check whether this order is needed');
  });

  it('offers override reasons that fit each card: none about an AI finding on the recent-study card, which carries none', () => {
    const prior = renderPriorFindingCard(templates, { studyInstanceUid: '1.2', description: 'CXR', date: '2026-11-01' }, input().model, [finding()], undefined);
    const recent = renderRecentStudyCard(templates, { studyInstanceUid: '1.2', description: 'CXR', date: '2026-11-21' }, 'CHEST', 2);
    const codes = (card: { overrideReasons?: readonly { code?: string }[] | undefined }): (string | undefined)[] => (card.overrideReasons ?? []).map((r) => r.code);
    expect(codes(prior)).toContain('disagree-with-finding');
    expect(codes(recent)).toEqual(['order-still-needed', 'recent-study-not-equivalent', 'already-addressed']);
    expect(codes(renderResult(templates, input()).card)).toContain('disagree-with-finding');
  });
});

describe('template engine', () => {
  it('refuses bare interpolations in JSON templates', () => {
    expect(unsafeJsonInterpolations('{ "a": {{json a}}, "b": "{{b}}", "c": {{{c}}} }')).toEqual(['{{b}}', '{{{c}}}']);
    expect(unsafeJsonInterpolations('{{#if a}}{{json a}}{{/if}} {{#jsonBlock}}{{x}}{{/jsonBlock}}')).toEqual([]);
  });

  it('fails loudly on a missing variable (strict mode)', () => {
    expect(() => templates.render('device.json', {})).toThrow();
    expect(() => templates.render('recent-study-card.json', { uuid: 'u', summary: 's', sourceLabel: 'l', overrideReasons: [], study: { description: 'd', date: null }, daysAgo: 1 })).toThrow(/md: argument is undefined/);
  });

  it('escapes Markdown control characters and folds newlines', () => {
    expect(markdownEscape('# a\n- b | *c*')).toBe('\\# a - b \\| \\*c\\*');
  });
});

describe('follow-up order suggestion', () => {
  const followUp = { code: { system: 'http://loinc.org', code: '36643-5', display: 'XR Chest 2V' }, text: HOSTILE.slice(0, 60) };

  it('offers a draft ServiceRequest beside the report when a positive finding recommends one', () => {
    const result = renderResult(templates, input({ findings: [finding({ followUp })] }));
    expectAllValid(result);
    expect(result.card.selectionBehavior).toBe('any');
    expect(result.card.suggestions).toHaveLength(2);
    const order = result.card.suggestions?.[1]?.actions?.[0]?.resource as ServiceRequest;
    expect(validateR4(order)).toEqual([]);
    expect(order).toMatchObject({ resourceType: 'ServiceRequest', status: 'draft', intent: 'proposal', subject: { reference: 'Patient/p1' }, code: { coding: [followUp.code], text: followUp.text } });
    expect(order.reasonReference).toEqual([{ reference: `Observation/${result.observations[0]?.id ?? ''}` }]);
  });

  it('offers only the report when no finding recommends a follow-up', () => {
    const result = renderResult(templates, input());
    expect(result.card.selectionBehavior).toBe('at-most-one');
    expect(result.card.suggestions).toHaveLength(1);
  });
});
