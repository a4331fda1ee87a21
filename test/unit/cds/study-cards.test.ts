/**
 * Which results the chart-view and order hooks surface: findings that need attention, unfamiliar
 * images, and an LV ejection fraction in the reduced band; never a plain measurement.
 */
import type { ModelStudyResult } from '../../../src/analysis/index.js';
import { isActionable } from '../../../src/cds/study-cards.js';
import type { CardiacForReport } from '../../../src/reports/index.js';

const result = (over: Partial<ModelStudyResult>): ModelStudyResult => ({
  studyInstanceUid: '1.2',
  model: { id: 'm', version: '1', name: 'M', manufacturer: 'x', task: 'segmentation', intendedUse: 'u', templates: { card: 'c', report: 'r' }, performance: 'p' },
  series: { seriesInstanceUid: '1.2.3', description: undefined, modality: 'MR', bodyPart: undefined, viewPosition: undefined, imageCount: 1, selectionReason: 's' },
  findings: [],
  measurements: [],
  inferenceMs: 1,
  analysedAt: '2026-11-23T12:00:00.000Z',
  ...over,
});
const cardiac = (band: CardiacForReport['lvEfBand']): CardiacForReport => ({ lvEdvMl: 1, lvEsvMl: 1, lvSvMl: 0, lvEfPercent: 30, lvMassG: 1, rvEdvMl: 1, rvEsvMl: 1, rvEfPercent: 0, lvEfBand: band, edPhase: 1, esPhase: 2, phaseCount: 2, sliceCount: 2, sliceSpacingMm: 8, pixelSpacingMm: [1, 1] });

describe('isActionable', () => {
  it('surfaces an LV EF in the reduced band, not one in the other bands or a plain measurement', () => {
    expect(isActionable(result({ cardiac: cardiac('reduced') }))).toBe(true);
    expect(isActionable(result({ cardiac: cardiac('mildly reduced') }))).toBe(false);
    expect(isActionable(result({ cardiac: cardiac('preserved') }))).toBe(false);
    expect(isActionable(result({ cardiac: cardiac(undefined) }))).toBe(false);
    expect(isActionable(result({}))).toBe(false);
  });

  it('surfaces a positive or indeterminate finding', () => {
    const finding = { key: 'p', display: 'Pneumonia', codes: [], probability: 0.9, threshold: 0.5, reviewBand: [0.4, 0.6] as const, interpretation: 'positive' as const, needsReview: false, urgency: 'warning' as const };
    expect(isActionable(result({ findings: [finding] }))).toBe(true);
    expect(isActionable(result({ findings: [{ ...finding, interpretation: 'negative', probability: 0.5, needsReview: true }] }))).toBe(true);
    expect(isActionable(result({ findings: [{ ...finding, interpretation: 'negative', probability: 0.1 }] }))).toBe(false);
  });
});
