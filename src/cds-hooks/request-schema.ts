/**
 * Validation of incoming CDS Hooks 2.0 requests. A malformed request is answered 400 with an
 * OperationOutcome naming the offending path; nothing downstream sees unvalidated input.
 */
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { CdsFeedbackRequest, CdsRequest } from './types.js';

const text = z.string().min(1);
/** FHIR id: [A-Za-z0-9\-\.]{1,64}. Checking it here stops path tricks in reads like `Patient/../x`. */
export const fhirId = z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/, 'must be a FHIR id');

const fhirAuthorization = z.object({
  access_token: text,
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().nonnegative(),
  scope: text,
  subject: text,
  patient: fhirId.optional(),
});

/** Envelope shared by all hooks; each service validates its own `context` shape. */
const envelope = z
  .object({
    hook: text,
    hookInstance: z.uuid(),
    fhirServer: z.url({ protocol: /^https?$/ }).optional(),
    fhirAuthorization: fhirAuthorization.optional(),
    context: z.record(z.string(), z.unknown()),
    prefetch: z.record(z.string(), z.unknown().nullable()).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.fhirAuthorization !== undefined && r.fhirServer === undefined) {
      ctx.addIssue({ code: 'custom', path: ['fhirServer'], message: 'fhirServer is required when fhirAuthorization is present' });
    }
  });

const bundle = z.looseObject({ resourceType: z.literal('Bundle'), entry: z.array(z.looseObject({ resource: z.looseObject({ resourceType: text }).optional() })).optional() });

export const contextSchemas = {
  'patient-view': z.looseObject({ userId: text, patientId: fhirId, encounterId: fhirId.optional() }),
  'order-select': z.looseObject({ userId: text, patientId: fhirId, encounterId: fhirId.optional(), selections: z.array(text).min(1), draftOrders: bundle }),
  'order-sign': z.looseObject({ userId: text, patientId: fhirId, encounterId: fhirId.optional(), draftOrders: bundle }),
  imagingStudyAvailable: z.looseObject({ patientId: fhirId, imagingStudyId: fhirId, serviceRequestId: fhirId.optional(), userId: text.optional() }),
} as const;

function toBadRequest(error: z.ZodError, prefix: string): AppError {
  const first = error.issues[0];
  const path = [prefix, ...(first?.path ?? []).map(String)].filter((p) => p.length > 0).join('.');
  const message = error.issues.map((i) => `${[prefix, ...i.path.map(String)].filter((p) => p.length > 0).join('.')}: ${i.message}`).join('; ');
  return new AppError('CDS_BAD_REQUEST', message, { expression: path });
}

/**
 * Validates the request envelope and that `hook` is the one the service answers.
 *
 * @param body - parsed JSON body
 * @param expectedHook - the hook of the service that was called
 */
export function parseCdsRequest(body: unknown, expectedHook: string): CdsRequest {
  const parsed = envelope.safeParse(body);
  if (!parsed.success) throw toBadRequest(parsed.error, '');
  if (parsed.data.hook !== expectedHook) {
    throw new AppError('CDS_BAD_REQUEST', `hook: this service answers "${expectedHook}", not "${parsed.data.hook}"`, { expression: 'hook' });
  }
  return parsed.data as CdsRequest;
}

/**
 * Validates a hook context against its schema.
 *
 * @param schema - one of {@link contextSchemas}
 * @param context - `request.context`
 */
export function parseContext<T extends z.ZodType>(schema: T, context: unknown): z.infer<T> {
  const parsed = schema.safeParse(context);
  if (!parsed.success) throw toBadRequest(parsed.error, 'context');
  return parsed.data;
}

const feedbackSchema = z.object({
  feedback: z
    .array(
      z
        .object({
          card: text,
          outcome: z.enum(['accepted', 'overridden']),
          outcomeTimestamp: z.iso.datetime({ offset: true }),
          acceptedSuggestions: z.array(z.object({ id: text })).min(1).optional(),
          overrideReason: z.object({ reason: z.object({ system: text, code: text, display: text.optional() }).optional(), userComment: text.optional() }).optional(),
        })
        .superRefine((f, ctx) => {
          if (f.outcome === 'accepted' && f.acceptedSuggestions === undefined) {
            ctx.addIssue({ code: 'custom', path: ['acceptedSuggestions'], message: 'acceptedSuggestions is required when outcome is accepted' });
          }
        }),
    )
    .min(1)
    .max(100),
});

/** Validates a feedback request body. */
export function parseFeedback(body: unknown): CdsFeedbackRequest {
  const parsed = feedbackSchema.safeParse(body);
  if (!parsed.success) throw toBadRequest(parsed.error, '');
  return parsed.data;
}
