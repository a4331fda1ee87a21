import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AppError } from '../../../src/errors.js';
import { canReadReports, createCardLedger, feedbackItem, parseViewerFeedback, quantile, scopesOf, type LedgerCard } from '../../../src/viewer/index.js';

const CARD: LedgerCard = {
  cardUuid: 'c0ffee00-0000-5000-8000-000000000001',
  serviceId: 'imaging-ai-result',
  modelId: 'pneumonia-cxr-28',
  modelVersion: '1.0.0',
  reportId: 'r1',
  suggestionUuid: 's1',
  overrideReasons: [{ system: 'http://imaging-cds.org/fhir/CodeSystem/override-reason', code: 'disagree-with-finding', display: 'Disagree with the AI finding' }],
  firstSent: '2026-01-01T00:00:00.000Z',
};

describe('SMART scopes', () => {
  it.each(['patient/*.read', 'patient/DiagnosticReport.read', 'patient/*.rs', 'patient/DiagnosticReport.r', 'patient/*.cruds', 'patient/*.*'])('accepts %s as a read of the patient\'s reports', (s) => {
    expect(canReadReports(['openid', s])).toBe(true);
  });
  it.each(['user/*.read', 'patient/Observation.read', 'patient/*.write', 'patient/*.cuds', 'patient/*.sr', 'launch'])('refuses %s', (s) => {
    expect(canReadReports([s])).toBe(false);
  });
  it('reads the scope string and the scp array', () => {
    expect(scopesOf({ scope: 'openid  patient/*.rs' })).toEqual(['openid', 'patient/*.rs']);
    expect(scopesOf({ scp: ['a', 1, 'b'] })).toEqual(['a', 'b']);
  });
});

describe('histogram quantiles', () => {
  it('interpolates within the bucket the rank falls in, as histogram_quantile does', () => {
    const buckets = [{ le: 0.1, count: 50 }, { le: 0.5, count: 90 }, { le: Infinity, count: 100 }];
    expect(quantile(0.5, buckets)).toBeCloseTo(0.1);
    expect(quantile(0.7, buckets)).toBeCloseTo(0.3);
    expect(quantile(0.99, buckets)).toBe(0.5);
    expect(quantile(0.5, [])).toBeUndefined();
  });
});

describe('viewer feedback', () => {
  const now = new Date('2026-02-03T04:05:06Z');
  it('turns Disagree into CDS Hooks feedback overriding the card with the reason it offers', () => {
    const f = parseViewerFeedback({ imagingStudyId: 's', reportId: 'r1', outcome: 'overridden', reason: 'disagree-with-finding', comment: 'no consolidation' });
    expect(feedbackItem(f, CARD, now)).toEqual({ card: CARD.cardUuid, outcome: 'overridden', outcomeTimestamp: now.toISOString(), overrideReason: { reason: CARD.overrideReasons[0], userComment: 'no consolidation' } });
  });
  it('turns Agree into acceptance of the card\'s suggestion', () => {
    expect(feedbackItem(parseViewerFeedback({ imagingStudyId: 's', reportId: 'r1', outcome: 'accepted' }), CARD, now)).toMatchObject({ outcome: 'accepted', acceptedSuggestions: [{ id: 's1' }] });
  });
  it.each([
    [{ imagingStudyId: 's', reportId: 'r1', outcome: 'overridden' }, 'reason'],
    [{ imagingStudyId: 's', reportId: 'r1', outcome: 'accepted', reason: 'disagree-with-finding' }, 'reason'],
    [{ imagingStudyId: 's/../x', reportId: 'r1', outcome: 'accepted' }, 'imagingStudyId'],
    [{ imagingStudyId: 's', reportId: 'r1', outcome: 'accepted', extra: 1 }, ''],
    ['text', ''],
  ])('refuses malformed feedback %#', (body, expression) => {
    expect(() => parseViewerFeedback(body)).toThrow(expect.objectContaining({ code: 'VIEWER_BAD_REQUEST', expression }) as AppError);
  });
  it('refuses a reason the card does not offer', () => {
    const f = parseViewerFeedback({ imagingStudyId: 's', reportId: 'r1', outcome: 'overridden', reason: 'order-still-needed' });
    expect(() => feedbackItem(f, CARD, now)).toThrow(expect.objectContaining({ code: 'VIEWER_BAD_REQUEST' }) as AppError);
  });
});

describe('card ledger', () => {
  it('records result cards by card and by report, keeping the first time a card was sent', () => {
    const ledger = createCardLedger(10);
    const card = {
      uuid: 'u1',
      summary: 's',
      indicator: 'info' as const,
      source: { label: 'x' },
      overrideReasons: CARD.overrideReasons,
      suggestions: [{ label: 'save', uuid: 'sg', actions: [
        { type: 'create' as const, description: 'd', resource: { resourceType: 'Device' as const, modelNumber: 'm', version: [{ value: '2' }] } },
        { type: 'create' as const, description: 'r', resource: { resourceType: 'DiagnosticReport' as const, id: 'rep', status: 'preliminary' as const, code: {} } },
      ] }],
    };
    ledger.observe('svc', { cards: [card, { summary: 'no result', indicator: 'info', source: { label: 'x' } }] }, new Date('2026-01-01T00:00:00Z'));
    ledger.observe('svc', { cards: [card] }, new Date('2026-01-02T00:00:00Z'));
    expect(ledger.all()).toHaveLength(1);
    expect(ledger.byReport('rep')).toMatchObject({ cardUuid: 'u1', modelId: 'm', modelVersion: '2', suggestionUuid: 'sg', firstSent: '2026-01-01T00:00:00.000Z' });
  });
});

describe('card ledger journal', () => {
  const resultCard = (uuid: string, report: string) => ({
    uuid,
    summary: 's',
    indicator: 'info' as const,
    source: { label: 'x' },
    suggestions: [{ label: 'save', uuid: `sg-${uuid}`, actions: [
      { type: 'create' as const, description: 'd', resource: { resourceType: 'Device' as const, modelNumber: 'm', version: [{ value: '2' }] } },
      { type: 'create' as const, description: 'r', resource: { resourceType: 'DiagnosticReport' as const, id: report, status: 'preliminary' as const, code: {} } },
    ] }],
  });

  it('answers even when the journal cannot be written (the line is lost, not the card)', async () => {
    const ledger = createCardLedger(2, path.join(tmpdir(), 'no-such-folder-7f3a', 'cards.jsonl'));
    expect(() => { ledger.observe('svc', { cards: [resultCard('u1', 'r1')] }, new Date('2026-01-01T00:00:00Z')); }).not.toThrow();
    await expect(ledger.idle()).resolves.toBeUndefined();
    expect(ledger.byReport('r1')?.cardUuid).toBe('u1');
  });

  it('keeps the cards across a restart, skips a torn line, and compacts to the capacity', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ledger-'));
    const file = path.join(dir, 'cards.jsonl');
    try {
      const first = createCardLedger(2, file);
      first.observe('svc', { cards: [resultCard('u1', 'r1'), resultCard('u2', 'r2')] }, new Date('2026-01-01T00:00:00Z'));
      // Sent again: not journalled twice.
      first.observe('svc', { cards: [resultCard('u1', 'r1')] }, new Date('2026-01-02T00:00:00Z'));
      await first.idle();
      expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
      const second = createCardLedger(2, file);
      expect(second.byReport('r2')).toMatchObject({ cardUuid: 'u2', modelId: 'm', firstSent: '2026-01-01T00:00:00.000Z' });
      second.observe('svc', { cards: [resultCard('u3', 'r3')] }, new Date('2026-01-03T00:00:00Z'));
      await second.idle();
      appendFileSync(file, '{"cardUuid": "torn');
      const third = createCardLedger(2, file);
      expect(third.all().map((c) => c.cardUuid).sort()).toEqual(['u2', 'u3']);
      expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
