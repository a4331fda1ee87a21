/**
 * The CDS Hooks 2.0 wire format (https://cds-hooks.hl7.org/2.0/): request, response, card and
 * feedback types, and the zod schemas that check what crosses the HTTP boundary. The bottom
 * layer: it imports nothing of the service but its error type.
 */
export { contextSchemas, fhirId, parseCdsRequest, parseContext, parseFeedback } from './request-schema.js';
export { cardSchema, cdsResponseJsonSchema, cdsResponseSchema, validateCdsResponse } from './response-schema.js';
export type {
  CardIndicator,
  CdsAction,
  CdsActionType,
  CdsCard,
  CdsCoding,
  CdsDiscoveryResponse,
  CdsFeedbackItem,
  CdsFeedbackRequest,
  CdsLink,
  CdsRequest,
  CdsResponse,
  CdsServiceDefinition,
  CdsSource,
  CdsSuggestion,
  CdsSystemAction,
  FhirAuthorization,
  ImagingStudyAvailableContext,
  OrderContext,
  PatientViewContext,
  PrefetchValue,
} from './types.js';
