/**
 * The viewer's Agree / Disagree, stored as CDS Hooks feedback on the result's card, in the same
 * store and the same shape as feedback an EHR posts to /cds-services/{id}/feedback. Agree accepts
 * the card's suggestion (the preliminary results); Disagree overrides the card with one of the
 * reasons the card offers.
 */
import { z } from 'zod';
import type { FeedbackStore } from '../audit/index.js';
import { parseFeedback, type CdsFeedbackItem } from '../cds-hooks/index.js';
import { AppError } from '../errors.js';
import type { ViewerFeedbackRequest } from './api-types.js';
import type { LedgerCard } from './card-ledger.js';

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

const request = z.strictObject({
  imagingStudyId: z.string().regex(FHIR_ID),
  reportId: z.string().regex(FHIR_ID),
  outcome: z.enum(['accepted', 'overridden']),
  reason: z.string().min(1).max(64).optional(),
  comment: z.string().max(1000).optional(),
});

/**
 * @param body - the parsed JSON body
 * @throws AppError `VIEWER_BAD_REQUEST` naming the field that is wrong
 */
export function parseViewerFeedback(body: unknown): ViewerFeedbackRequest {
  const parsed = request.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('VIEWER_BAD_REQUEST', `feedback is malformed: ${issue?.message ?? 'invalid'}`, { expression: issue?.path.join('.') ?? '' });
  }
  const f = parsed.data;
  if (f.outcome === 'overridden' && f.reason === undefined) throw new AppError('VIEWER_BAD_REQUEST', 'Disagree needs one of the card\'s override reasons', { expression: 'reason' });
  if (f.outcome === 'accepted' && f.reason !== undefined) throw new AppError('VIEWER_BAD_REQUEST', 'an override reason belongs to Disagree only', { expression: 'reason' });
  return f;
}

/**
 * The CDS Hooks feedback item for the request, checked with the same schema as the feedback route.
 *
 * @param f - the viewer's request
 * @param card - the result's card
 * @param now - the outcome's time
 * @throws AppError `VIEWER_BAD_REQUEST` for a reason the card does not offer, or Agree on a card without a suggestion
 */
export function feedbackItem(f: ViewerFeedbackRequest, card: LedgerCard, now: Date): CdsFeedbackItem {
  const base = { card: card.cardUuid, outcome: f.outcome, outcomeTimestamp: now.toISOString() };
  let item: CdsFeedbackItem;
  if (f.outcome === 'accepted') {
    if (card.suggestionUuid === undefined) throw new AppError('VIEWER_BAD_REQUEST', 'this result\'s card has no suggestion to accept');
    item = { ...base, acceptedSuggestions: [{ id: card.suggestionUuid }] };
  } else {
    const reason = card.overrideReasons.find((r) => r.code === f.reason);
    if (reason === undefined) throw new AppError('VIEWER_BAD_REQUEST', 'the override reason is not one this card offers', { expression: 'reason' });
    const coding = { system: reason.system, code: reason.code, ...(reason.display === undefined ? {} : { display: reason.display }) };
    item = { ...base, overrideReason: { reason: coding, ...(f.comment === undefined || f.comment.trim() === '' ? {} : { userComment: f.comment }) } };
  }
  return parseFeedback({ feedback: [item] }).feedback[0] ?? item;
}

/**
 * Stores the item as the card's service's feedback, attributed to the trust domain's CDS client.
 *
 * @returns how many items were new (0 for a repeat)
 */
export function storeFeedback(store: FeedbackStore, card: LedgerCard, item: CdsFeedbackItem, clientIss: string | undefined): Promise<number> {
  return store.add(card.serviceId, [item], clientIss);
}
