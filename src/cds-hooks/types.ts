/**
 * CDS Hooks 2.0 types (https://cds-hooks.hl7.org/2.0/). No npm package carries them.
 *
 * Requests are what an EHR sends us (validated with zod in request-schema.ts before they become
 * these types); responses are what we send (validated by response-schema.ts at the HTTP
 * boundary and in every test). Everything is readonly: handlers build new objects, they never
 * patch requests.
 */
import type { Bundle, Coding as FhirCoding, FhirResource, OperationOutcome } from 'fhir/r4.js';

/** A FHIR Coding as CDS Hooks uses it (system and code required). */
export interface CdsCoding {
  readonly system: string;
  readonly code: string;
  readonly display?: string;
}

/** @see https://cds-hooks.hl7.org/2.0/#discovery */
export interface CdsServiceDefinition {
  readonly hook: string;
  readonly title?: string;
  readonly description: string;
  readonly id: string;
  /** Prefetch key → FHIR query template with `{{context.x}}` / `{{userPractitionerId}}` tokens. */
  readonly prefetch?: Readonly<Record<string, string>>;
  readonly usageRequirements?: string;
}

export interface CdsDiscoveryResponse {
  readonly services: readonly CdsServiceDefinition[];
}

/** @see https://cds-hooks.hl7.org/2.0/#passing-the-access-token-to-the-cds-service */
export interface FhirAuthorization {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly scope: string;
  readonly subject: string;
  readonly patient?: string;
}

/** A prefetch value: a resource (maybe an OperationOutcome), a Bundle, or null for "no data". */
export type PrefetchValue = FhirResource | Bundle | OperationOutcome | null;

/** @see https://cds-hooks.hl7.org/2.0/#http-request */
export interface CdsRequest<C = Readonly<Record<string, unknown>>> {
  readonly hook: string;
  readonly hookInstance: string;
  readonly fhirServer?: string;
  readonly fhirAuthorization?: FhirAuthorization;
  readonly context: C;
  readonly prefetch?: Readonly<Record<string, PrefetchValue>>;
}

/** Context of `patient-view` (https://cds-hooks.org/hooks/patient-view/). */
export interface PatientViewContext {
  readonly userId: string;
  readonly patientId: string;
  readonly encounterId?: string;
}

/** Context of `order-select` / `order-sign` (https://cds-hooks.org/hooks/order-sign/). */
export interface OrderContext {
  readonly userId: string;
  readonly patientId: string;
  readonly encounterId?: string;
  readonly draftOrders: Bundle;
  /** order-select only: ids (`Type/id`) of the orders the user just selected. */
  readonly selections?: readonly string[];
}

/** Context of our custom result hook (fhir-resources/hook-imagingstudy-available.json). */
export interface ImagingStudyAvailableContext {
  readonly patientId: string;
  readonly imagingStudyId: string;
  readonly serviceRequestId?: string;
  readonly userId?: string;
}

export type CardIndicator = 'info' | 'warning' | 'critical';

/** @see https://cds-hooks.hl7.org/2.0/#source */
export interface CdsSource {
  readonly label: string;
  readonly url?: string;
  readonly icon?: string;
  readonly topic?: CdsCoding;
}

export type CdsActionType = 'create' | 'update' | 'delete';

/** @see https://cds-hooks.hl7.org/2.0/#action */
export interface CdsAction {
  readonly type: CdsActionType;
  readonly description: string;
  readonly resource?: FhirResource;
  readonly resourceId?: string;
}

/** @see https://cds-hooks.hl7.org/2.0/#suggestion */
export interface CdsSuggestion {
  readonly label: string;
  readonly uuid?: string;
  readonly isRecommended?: boolean;
  readonly actions?: readonly CdsAction[];
}

/** @see https://cds-hooks.hl7.org/2.0/#link */
export interface CdsLink {
  readonly label: string;
  readonly url: string;
  readonly type: 'absolute' | 'smart';
  readonly appContext?: string;
}

/** @see https://cds-hooks.hl7.org/2.0/#card-attributes */
export interface CdsCard {
  readonly uuid?: string;
  readonly summary: string;
  readonly detail?: string;
  readonly indicator: CardIndicator;
  readonly source: CdsSource;
  readonly suggestions?: readonly CdsSuggestion[];
  readonly selectionBehavior?: 'at-most-one' | 'any';
  readonly overrideReasons?: readonly FhirCoding[];
  readonly links?: readonly CdsLink[];
}

/** @see https://cds-hooks.hl7.org/2.0/#system-action */
export type CdsSystemAction = CdsAction;

/** @see https://cds-hooks.hl7.org/2.0/#cds-service-response */
export interface CdsResponse {
  readonly cards: readonly CdsCard[];
  readonly systemActions?: readonly CdsSystemAction[];
}

/** @see https://cds-hooks.hl7.org/2.0/#feedback */
export interface CdsFeedbackItem {
  readonly card: string;
  readonly outcome: 'accepted' | 'overridden';
  readonly outcomeTimestamp: string;
  readonly acceptedSuggestions?: readonly { readonly id: string }[];
  readonly overrideReason?: { readonly reason?: CdsCoding; readonly userComment?: string };
}

export interface CdsFeedbackRequest {
  readonly feedback: readonly CdsFeedbackItem[];
}
