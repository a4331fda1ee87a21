/**
 * What a classifier's findings say in words: the state of each finding, the card's one-line
 * summary and indicator, and the report's conclusion.
 */
import type { CdsCard } from '../cds-hooks/index.js';
import { percent } from './engine.js';
import type { Finding, UnfamiliarVerdict } from './types.js';

/** What a card, a report and an Observation say of an image the unfamiliar-image check flagged. */
export const UNFAMILIAR_TEXT = 'Unlike the images this model was validated on: review required';

/** The verdict of a flagged image (carried on each finding), or undefined when not flagged or not checked. */
export function flaggedUnfamiliar(findings: readonly Finding[]): UnfamiliarVerdict | undefined {
  return findings.find((f) => f.unfamiliar?.flagged === true)?.unfamiliar;
}

/** One sentence on a flagged image: the statement, the numbers, and what follows for the result. */
export function unfamiliarSentence(v: UnfamiliarVerdict): string {
  return `${UNFAMILIAR_TEXT}. The image's features are farther from the model's training images than the model's validated limit (Mahalanobis distance ${v.distance.toFixed(1)}, limit ${v.threshold.toFixed(1)}), so the AI probability may not mean for this image what it meant in validation.`;
}

export type FindingState = 'positive' | 'negative' | 'review';

/** The review band overrides the threshold: a finding inside it is neither called nor dismissed. */
export function stateOf(f: Finding): FindingState {
  return f.needsReview ? 'review' : f.interpretation;
}

/** Plain-language result of a finding, for tables in cards and reports. */
export function findingResultText(f: Finding): string {
  switch (stateOf(f)) {
    case 'positive':
      return 'Suspected (above threshold)';
    case 'negative':
      return 'Not suspected (below threshold)';
    case 'review':
      return 'Indeterminate: radiologist review required';
  }
}

/** Rounds to 2 decimals in percent, so 0.87654 → 87.65. */
export function toPercent(p: number): number {
  return Math.round(p * 10000) / 100;
}

const MAX_SUMMARY = 139;

/**
 * One sentence under 140 characters, most urgent finding first.
 *
 * @param findings - the reportable findings
 */
export function composeSummary(findings: readonly Finding[]): string {
  // An unfamiliar image's result is not a confident finding: the card says so first.
  const prefix = flaggedUnfamiliar(findings) === undefined ? 'Preliminary AI: ' : `${UNFAMILIAR_TEXT}. Preliminary AI: `;
  const positives = findings.filter((f) => stateOf(f) === 'positive');
  const reviews = findings.filter((f) => stateOf(f) === 'review');
  const parts: string[] = [];
  for (const f of positives) parts.push(`possible ${f.display.toLowerCase()} (${percent(f.probability)})`);
  for (const f of reviews) parts.push(`indeterminate for ${f.display.toLowerCase()} (${percent(f.probability)}), review required`);
  let sentence: string;
  if (parts.length === 0) {
    sentence = `${prefix}no ${findings.map((f) => f.display.toLowerCase()).join(' or ')} suspected; needs confirmation`;
  } else {
    sentence = `${prefix}${parts.join('; ')}`;
    if (positives.length > 0) sentence += '; needs confirmation';
  }
  return sentence.length <= MAX_SUMMARY ? sentence : `${sentence.slice(0, MAX_SUMMARY - 1)}…`;
}

/**
 * The most urgent indicator among the findings: a positive finding's urgency, review = warning;
 * at least warning when the image is unlike the images the model was validated on.
 */
export function indicatorOf(findings: readonly Finding[]): CdsCard['indicator'] {
  const rank = { info: 0, warning: 1, critical: 2 } as const;
  let best: CdsCard['indicator'] = flaggedUnfamiliar(findings) === undefined ? 'info' : 'warning';
  for (const f of findings) {
    const state = stateOf(f);
    const level = state === 'positive' ? f.urgency : state === 'review' ? 'warning' : 'info';
    if (rank[level] > rank[best]) best = level;
  }
  return best;
}

/**
 * One finding in words, as the DiagnosticReport conclusion and the finding's Observation note
 * both say it, e.g. `Pneumonia: suspected (above threshold), AI probability > 99% (threshold 76.6%)`.
 */
export function findingLine(f: Finding): string {
  return `${f.display}: ${findingResultText(f).toLowerCase()}, AI probability ${percent(f.probability)} (threshold ${percent(f.threshold)})`;
}

/** The DiagnosticReport conclusion of a classifier result. */
export function findingsConclusion(findings: readonly Finding[]): string {
  const unfamiliar = flaggedUnfamiliar(findings);
  const first = unfamiliar === undefined ? '' : `${unfamiliarSentence(unfamiliar)} `;
  return `${first}Preliminary AI result, not a diagnosis; requires confirmation by a qualified clinician. ${findings.map(findingLine).join('. ')}.`;
}

/** The note on a finding's Observation: the same words as the conclusion's line for it. */
export function findingNote(f: Finding): string {
  const first = f.unfamiliar?.flagged === true ? `${unfamiliarSentence(f.unfamiliar)} ` : '';
  return `${first}Preliminary AI result; requires confirmation by a qualified clinician. ${findingLine(f)}.`;
}
