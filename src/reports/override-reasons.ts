/**
 * Why a clinician may dismiss a card (CDS Hooks `overrideReasons`, returned in feedback), per
 * kind of card: a reason must fit what the card says. All codes are in
 * fhir-resources/CodeSystem-override-reason.json (a test keeps the two equal).
 */
import { OVERRIDE_REASON_SYSTEM } from '../terminology.js';

const reason = (code: string, display: string) => ({ system: OVERRIDE_REASON_SYSTEM, code, display }) as const;

const IMAGE_QUALITY = reason('inadequate-image-quality', 'Inadequate image quality for AI analysis');
const NOT_RELEVANT = reason('not-clinically-relevant', 'Not clinically relevant for this patient');
const ADDRESSED = reason('already-addressed', 'Already reviewed or addressed');

/** A card with AI findings (a classifier's result, or a prior study's findings on an order). */
export const FINDING_OVERRIDE_REASONS = [reason('disagree-with-finding', 'Disagree with the AI finding'), IMAGE_QUALITY, NOT_RELEVANT, ADDRESSED] as const;

/** A card with AI measurements (a segmentation model's result). */
export const MEASUREMENT_OVERRIDE_REASONS = [reason('disagree-with-measurement', 'Disagree with the AI measurement'), IMAGE_QUALITY, NOT_RELEVANT, ADDRESSED] as const;

/** The "a very recent equivalent study exists" card on an order: no AI output on it. */
export const RECENT_STUDY_OVERRIDE_REASONS = [
  reason('order-still-needed', 'The new study is still needed'),
  reason('recent-study-not-equivalent', 'The recent study does not answer this question'),
  ADDRESSED,
] as const;

/** Every reason any card offers, once, in a stable order (the CodeSystem's concepts). */
export const OVERRIDE_REASONS = [...new Map([...FINDING_OVERRIDE_REASONS, ...MEASUREMENT_OVERRIDE_REASONS, ...RECENT_STUDY_OVERRIDE_REASONS].map((r) => [r.code, r])).values()];
