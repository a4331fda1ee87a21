/**
 * The CDS Hooks 2.0 response validator: structure (zod, strict objects, so unknown or
 * misspelled fields fail) plus the invariants of the 3.0 ballot's logical model, which make
 * explicit what 2.0 says in prose. Every response the service produces in tests goes through
 * {@link validateCdsResponse}; the service also runs it before answering (a card we cannot
 * vouch for is never sent). The same schema is published as JSON Schema in
 * fhir-resources/cds-hooks-response.schema.json (generated, checked in CI).
 *
 * 2.0 forbids null, empty strings, empty arrays and empty objects ("omit absent optional
 * fields"), with the single exception of `cards: []`.
 */
import { z } from 'zod';

const text = z.string().min(1);
const uri = z.url();

const coding = z.strictObject({ system: text, code: text, display: text.optional() });

const nonEmptyObject = z.record(z.string(), z.unknown()).refine((o) => Object.keys(o).length > 0, 'must not be empty');

const action = z
  .strictObject({
    type: z.enum(['create', 'update', 'delete']),
    description: text,
    resource: nonEmptyObject.optional(),
    resourceId: text.optional(),
  })
  .superRefine((a, ctx) => {
    if (a.type === 'delete') {
      if (a.resourceId === undefined) ctx.addIssue({ code: 'custom', message: 'delete action requires resourceId' });
      if (a.resource !== undefined) ctx.addIssue({ code: 'custom', message: 'delete action must not carry resource' });
    } else if (a.resource === undefined) {
      ctx.addIssue({ code: 'custom', message: `${a.type} action requires resource` });
    }
  });

const suggestion = z.strictObject({
  label: text,
  uuid: text.optional(),
  isRecommended: z.boolean().optional(),
  actions: z.array(action).min(1).optional(),
});

const link = z
  .strictObject({
    label: text,
    url: uri,
    type: z.enum(['absolute', 'smart']),
    appContext: text.optional(),
  })
  .superRefine((l, ctx) => {
    if (l.appContext !== undefined && l.type !== 'smart') {
      ctx.addIssue({ code: 'custom', message: 'appContext is only allowed on smart links' });
    }
  });

const source = z.strictObject({
  label: text,
  url: uri.optional(),
  icon: uri.optional(),
  topic: coding.optional(),
});

export const cardSchema = z
  .strictObject({
    uuid: text.optional(),
    summary: text.max(139, 'summary must be shorter than 140 characters'),
    detail: text.optional(),
    indicator: z.enum(['info', 'warning', 'critical']),
    source,
    suggestions: z.array(suggestion).min(1).optional(),
    selectionBehavior: z.enum(['at-most-one', 'any']).optional(),
    overrideReasons: z
      .array(z.strictObject({ system: text, code: text, display: text }))
      .min(1)
      .optional(),
    links: z.array(link).min(1).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.suggestions !== undefined && c.selectionBehavior === undefined) {
      ctx.addIssue({ code: 'custom', message: 'selectionBehavior is required when suggestions are present' });
    }
    if (c.selectionBehavior === 'at-most-one' && (c.suggestions ?? []).filter((s) => s.isRecommended === true).length > 1) {
      ctx.addIssue({ code: 'custom', message: 'at most one suggestion may be recommended under at-most-one' });
    }
  });

export const cdsResponseSchema = z.strictObject({
  cards: z.array(cardSchema),
  systemActions: z.array(action).min(1).optional(),
});

/** Finds `null` and empty strings/arrays/objects anywhere except the top-level `cards: []`. */
function findEmpties(value: unknown, path: string, out: string[]): void {
  if (value === null) {
    out.push(`${path} is null`);
  } else if (typeof value === 'string') {
    if (value.length === 0) out.push(`${path} is an empty string`);
  } else if (Array.isArray(value)) {
    if (value.length === 0 && path !== '$.cards') out.push(`${path} is an empty array`);
    value.forEach((v, i) => { findEmpties(v, `${path}[${i}]`, out); });
  } else if (typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) out.push(`${path} is an empty object`);
    for (const [k, v] of entries) findEmpties(v, `${path}.${k}`, out);
  }
}

/**
 * Validates a CDS Hooks 2.0 service response.
 *
 * @param body - the parsed JSON body
 * @returns the list of problems, each with its JSON path; empty when valid
 */
export function validateCdsResponse(body: unknown): string[] {
  const problems: string[] = [];
  const parsed = cdsResponseSchema.safeParse(body);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`$.${issue.path.join('.')}: ${issue.message}`);
  }
  findEmpties(body, '$', problems);
  return problems;
}

/** JSON Schema of the response (structure only; the invariants above are code). */
export function cdsResponseJsonSchema(): unknown {
  return z.toJSONSchema(cdsResponseSchema, { unrepresentable: 'any', io: 'input' });
}
