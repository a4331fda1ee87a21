/**
 * Cards that inform an order or a chart view from earlier results: a prior study's AI finding,
 * and a very recent equivalent study. Rendered from templates like every other card.
 */
import type { CdsCard } from '../cds-hooks/index.js';
import { PROJECT_CODES } from '../terminology.js';
import type { TemplateSet } from './engine.js';
import { percent } from './engine.js';
import { uuidV5 } from './ids.js';
import { findingResultText } from './finding-text.js';
import { renderJson } from './render-json.js';
import { FINDING_OVERRIDE_REASONS, RECENT_STUDY_OVERRIDE_REASONS } from './override-reasons.js';
import type { Finding, ModelForReport } from './types.js';

export interface PriorStudyView {
  readonly studyInstanceUid: string;
  readonly description: string | undefined;
  /** FHIR dateTime the study started. */
  readonly date: string | undefined;
}

/**
 * A prior study's actionable AI findings, for order-select / order-sign.
 *
 * @param templates - compiled templates
 * @param study - the prior study
 * @param model - the model that produced the findings
 * @param findings - the actionable findings (positive or in the review band)
 * @param viewerUrl - optional image viewer link
 */
export function renderPriorFindingCard(templates: TemplateSet, study: PriorStudyView, model: ModelForReport, findings: readonly Finding[], viewerUrl: string | undefined): CdsCard {
  const top = [...findings].sort((a, b) => b.probability - a.probability)[0];
  const when = study.date === undefined ? '' : ` (${study.date.slice(0, 10)})`;
  const summary = top === undefined ? `Prior study${when}: no AI finding` : `Prior study${when}: preliminary AI ${top.needsReview ? 'indeterminate for' : 'suggests possible'} ${top.display.toLowerCase()} (${percent(top.probability)})`;
  const positive = findings.some((f) => f.interpretation === 'positive' && !f.needsReview);
  const name = 'prior-finding-card.json';
  return renderJson<CdsCard>(templates, name, {
    uuid: uuidV5(`prior-card|${study.studyInstanceUid}|${model.id}|${model.version}`),
    summary: summary.slice(0, 139),
    indicator: positive ? 'warning' : 'info',
    study: { description: study.description ?? 'imaging study', date: study.date ?? null },
    findings: findings.map((f) => ({ ...f, resultText: findingResultText(f) })),
    model,
    sourceLabel: `Imaging AI: ${model.name} ${model.version}`,
    topic: PROJECT_CODES.aiAlgorithm,
    overrideReasons: FINDING_OVERRIDE_REASONS,
    links: viewerUrl === undefined ? null : [{ label: 'Open the prior study in the image viewer', url: viewerUrl, type: 'absolute' }],
  });
}

/**
 * A very recent study of the same body region, for order-select / order-sign.
 *
 * @param templates - compiled templates
 * @param study - the recent study
 * @param region - the shared body region, e.g. `CHEST`
 * @param daysAgo - whole days since the study
 */
export function renderRecentStudyCard(templates: TemplateSet, study: PriorStudyView, region: string, daysAgo: number): CdsCard {
  const name = 'recent-study-card.json';
  const when = daysAgo === 0 ? 'today' : `${daysAgo} day(s) ago`;
  return renderJson<CdsCard>(templates, name, {
    uuid: uuidV5(`recent-card|${study.studyInstanceUid}|${region}`),
    summary: `A ${region.toLowerCase()} imaging study was done ${when}: check whether this order is needed`.slice(0, 139),
    region,
    daysAgo,
    study: { description: study.description ?? 'imaging study', date: study.date ?? null },
    sourceLabel: 'Imaging AI: prior imaging check',
    overrideReasons: RECENT_STUDY_OVERRIDE_REASONS,
  });
}

/** Most reasons a not-analysed card lists; the rest are in the service's log. */
const MAX_REASONS = 5;

/** A model that refused the study because it is outside the model's validated use, and why. */
export interface OutsideUseReason {
  /** The model's display name. */
  readonly modelName: string;
  /** Which rule, in words, without the patient's age (e.g. "the patient's age at the study is outside …"). */
  readonly reason: string;
}

/** How the card words a validated-use refusal: the model, the rule, and that it is outside its validated use. */
export const outsideUseText = (r: OutsideUseReason): string => `Not analysed by ${r.modelName}: ${r.reason}; outside its validated use`;

/**
 * The result hook's answer when no model produced a result for the study: an `info` card that
 * says the study was not analysed and why (no DICOMweb endpoint, no series a model accepts, an
 * image a model refused, a study or patient outside a model's validated use), so the EHR can
 * tell "looked and found nothing" from "did not look".
 *
 * @param templates - compiled templates
 * @param study - the study
 * @param reasons - why each series or model was passed over (duplicates are listed once)
 * @param outsideUse - models that refused because the study is outside their validated use;
 *   listed first (a physician must see these), and the summary says so
 */
export function renderNotAnalysedCard(templates: TemplateSet, study: PriorStudyView, reasons: readonly string[], outsideUse: readonly OutsideUseReason[] = []): CdsCard {
  const unique = [...new Set([...outsideUse.map(outsideUseText), ...reasons])];
  const listed = unique.slice(0, MAX_REASONS);
  if (unique.length > listed.length) listed.push(`and ${unique.length - listed.length} more reason(s)`);
  if (listed.length === 0) listed.push('no AI model accepts this study');
  return renderJson<CdsCard>(templates, 'not-analysed-card.json', {
    uuid: uuidV5(`not-analysed-card|${study.studyInstanceUid}`),
    summary: outsideUse.length > 0 ? 'Imaging AI did not analyse this study (not a finding): outside its validated use' : 'Imaging AI did not analyse this study (not a finding): see why',
    study: { description: study.description ?? 'imaging study', date: study.date ?? null },
    reasons: listed,
    sourceLabel: 'Imaging AI',
  });
}

/**
 * The result hook's answer while the study's analysis is still running after the hook's time
 * budget: an `info` card that says so (not a finding), so the EHR does not read "no finding
 * card" as "nothing found". The analysis goes on; a later hook on the study gets the result.
 *
 * @param templates - compiled templates
 * @param study - the study
 */
export function renderInProgressCard(templates: TemplateSet, study: PriorStudyView): CdsCard {
  return renderJson<CdsCard>(templates, 'analysis-in-progress-card.json', {
    uuid: uuidV5(`analysis-in-progress-card|${study.studyInstanceUid}`),
    summary: 'AI analysis in progress (not a finding): results will follow',
    study: { description: study.description ?? 'imaging study', date: study.date ?? null },
    sourceLabel: 'Imaging AI',
  });
}
