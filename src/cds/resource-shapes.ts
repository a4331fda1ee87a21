/**
 * The shape of the FHIR data the services read, checked before any of it is used. Prefetch and
 * draftOrders arrive from the client unvalidated (and FHIR server answers are only checked for
 * their resource type), so a field of the wrong type must become a clear 4xx (the client's
 * data) or 412 (the server's), never a TypeError deep in the code and a 500.
 *
 * Only the fields the service reads are checked, each as R4 types it; everything else passes.
 */
import type { FhirResource } from 'fhir/r4.js';
import { z } from 'zod';
import { AppError } from '../errors.js';

const text = z.string();
const coding = z.looseObject({ system: text.optional(), code: text.optional(), display: text.optional() });
const concept = z.looseObject({ coding: z.array(coding).optional(), text: text.optional() });
const reference = z.looseObject({ reference: text.optional() });

const imagingStudy = z.looseObject({
  id: text.optional(),
  subject: reference,
  started: text.optional(),
  description: text.optional(),
  identifier: z.array(z.looseObject({ system: text.optional(), value: text.optional() })).optional(),
  endpoint: z.array(reference).optional(),
  series: z
    .array(
      z.looseObject({
        uid: text,
        modality: coding,
        bodySite: coding.optional(),
        description: text.optional(),
        endpoint: z.array(reference).optional(),
        instance: z.array(z.looseObject({ uid: text })).optional(),
      }),
    )
    .optional(),
});

const endpoint = z.looseObject({ id: text.optional(), connectionType: coding, address: text });

const serviceRequest = z.looseObject({
  id: text.optional(),
  subject: reference.optional(),
  code: concept.optional(),
  category: z.array(concept).optional(),
  bodySite: z.array(concept).optional(),
});

const SHAPES: Readonly<Record<string, z.ZodType>> = { ImagingStudy: imagingStudy, Endpoint: endpoint, ServiceRequest: serviceRequest };

/** Where the data came from: the client (its mistake, 400) or the FHIR server (412). */
export type DataOrigin = 'client' | 'server';

function fail(origin: DataOrigin, where: string, issue: z.core.$ZodIssue | undefined): never {
  const path = [where, ...(issue?.path ?? []).map(String)].join('.');
  const message = `${path}: ${issue?.message ?? 'invalid'}`;
  if (origin === 'client') throw new AppError('CDS_BAD_REQUEST', message, { expression: path });
  throw new AppError('UPSTREAM_FAILED', `The FHIR server answered with a resource that is not valid R4 (${message})`);
}

/**
 * Checks the fields the service reads on an ImagingStudy, Endpoint or ServiceRequest; other
 * resource types pass unchanged.
 *
 * @param resource - a resource, as received
 * @param origin - who sent it
 * @param where - its location for the error, e.g. `prefetch.imagingStudy.entry[0].resource`
 * @throws AppError CDS_BAD_REQUEST (client) or UPSTREAM_FAILED (server) naming the field
 */
export function checkResource<T extends FhirResource>(resource: T, origin: DataOrigin, where: string): T {
  const shape = SHAPES[resource.resourceType];
  if (shape === undefined) return resource;
  const parsed = shape.safeParse(resource);
  if (!parsed.success) fail(origin, where, parsed.error.issues[0]);
  return resource;
}

const bundleShape = z.looseObject({
  resourceType: z.literal('Bundle'),
  entry: z.array(z.looseObject({ resource: z.looseObject({ resourceType: text }).optional() })).optional(),
});

/**
 * The resources of a Bundle (or the resource itself), each checked with {@link checkResource}.
 *
 * @throws AppError as {@link checkResource}, also for a Bundle whose `entry` is not a list of entries
 */
export function checkedResources(value: FhirResource, origin: DataOrigin, where: string): FhirResource[] {
  if (value.resourceType !== 'Bundle') return [checkResource(value, origin, where)];
  const parsed = bundleShape.safeParse(value);
  if (!parsed.success) fail(origin, where, parsed.error.issues[0]);
  return (value.entry ?? []).flatMap((e, i) => (e.resource === undefined ? [] : [checkResource(e.resource as FhirResource, origin, `${where}.entry[${i}].resource`)]));
}
