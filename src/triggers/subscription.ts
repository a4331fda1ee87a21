/**
 * The FHIR Subscription trigger (R4 Subscriptions Backport IG, rest-hook channel): a FHIR server
 * notifies that an ImagingStudy became available (topic "ImagingStudy available", see
 * fhir-resources/subscriptiontopic-imagingstudy-available.json) and the service analyses it
 * before any hook asks. Both payload types are handled: `full-resource` carries the
 * ImagingStudy, `id-only` only its URL, and the service reads it from the configured server
 * with its own credentials. Handshakes and heartbeats are acknowledged and start nothing.
 */
import type { FhirResource, ImagingStudy } from 'fhir/r4.js';
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { AnalysisJob } from '../jobs/index.js';
import { checkResource, studyToAnalyse, type FhirQueryClient, type PrefetchResolver } from '../cds/index.js';

/** The server a Subscription notifies from, and where its studies' results belong. */
export interface SubscriptionSource {
  /** The trust domain whose hooks will be answered from these results. */
  readonly domain: string;
  /** The notifying FHIR server's base URL (allow-listed), without a trailing slash. */
  readonly fhirServer: string;
  /** The SubscriptionTopic canonical URL notifications must name. */
  readonly topic: string;
  /** Reads from the notifying server with the service's own credentials. */
  readonly client: Pick<FhirQueryClient, 'read'>;
  /** DICOMweb root for studies whose ImagingStudy names no usable Endpoint. */
  readonly defaultDicomWebRoot: string | undefined;
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

const parameter = z.looseObject({ name: z.string(), valueCode: z.string().optional(), valueCanonical: z.string().optional(), valueUri: z.string().optional() });
const status = z.looseObject({
  resourceType: z.literal('Parameters'),
  parameter: z.array(z.looseObject({ name: z.string(), part: z.array(z.looseObject({ name: z.string(), valueReference: z.looseObject({ reference: z.string().optional() }).optional() })).optional() }).and(parameter)),
});
const notification = z.looseObject({
  resourceType: z.literal('Bundle'),
  type: z.literal('history'),
  entry: z.array(z.looseObject({ fullUrl: z.string().optional(), resource: z.looseObject({ resourceType: z.string() }).optional() })).min(1).max(1000),
});

/** What a notification asks for. */
export interface ParsedNotification {
  readonly type: 'handshake' | 'heartbeat' | 'event-notification' | 'query-status' | 'query-event';
  /** The ImagingStudy ids named as focus, each with the resource when the payload carries it. */
  readonly studies: readonly { readonly id: string; readonly resource: ImagingStudy | undefined }[];
}

const bad = (message: string, expression?: string): AppError => new AppError('TRIGGER_BAD_REQUEST', message, expression === undefined ? {} : { expression });

/** The ImagingStudy id a focus reference names on `fhirServer`; anything else is refused. */
function studyIdOf(reference: string | undefined, fhirServer: string): string {
  const relative = reference?.startsWith(`${fhirServer}/`) === true ? reference.slice(fhirServer.length + 1) : reference;
  const match = /^ImagingStudy\/([^/]+)(?:\/_history\/[^/]+)?$/.exec(relative ?? '');
  if (match?.[1] === undefined || !ID.test(match[1])) throw bad('a notification focus must reference an ImagingStudy on the subscribed FHIR server', 'Bundle.entry[0].resource.parameter.part');
  return match[1];
}

/**
 * Parses and checks a notification Bundle.
 *
 * @param body - the parsed JSON body
 * @param source - the subscribed server and topic
 * @throws AppError TRIGGER_BAD_REQUEST for another shape, another topic, or a focus elsewhere
 */
export function parseNotification(body: unknown, source: Pick<SubscriptionSource, 'fhirServer' | 'topic'>): ParsedNotification {
  const bundle = notification.safeParse(body);
  if (!bundle.success) throw bad('the body must be a Subscription notification: a FHIR Bundle of type history');
  const first = status.safeParse(bundle.data.entry[0]?.resource);
  if (!first.success) throw bad('the first entry of a notification must be its SubscriptionStatus (Parameters)', 'Bundle.entry[0]');
  const params = first.data.parameter;
  const type = params.find((p) => p.name === 'type')?.valueCode;
  if (type !== 'handshake' && type !== 'heartbeat' && type !== 'event-notification' && type !== 'query-status' && type !== 'query-event') throw bad('the SubscriptionStatus has no known notification type', 'Bundle.entry[0].resource.parameter');
  // The IG makes `topic` optional (the secret already names the subscription); when sent, it must be ours.
  const topic = params.find((p) => p.name === 'topic');
  if (topic !== undefined && (topic.valueCanonical ?? topic.valueUri) !== source.topic) throw bad('the notification is for another SubscriptionTopic', 'Bundle.entry[0].resource.parameter');
  if (type !== 'event-notification') return { type, studies: [] };
  const carried = new Map<string, FhirResource>();
  for (const e of bundle.data.entry.slice(1)) if (e.fullUrl !== undefined && e.resource !== undefined) carried.set(e.fullUrl, e.resource as FhirResource);
  const ids = new Set<string>();
  const studies: { id: string; resource: ImagingStudy | undefined }[] = [];
  for (const event of params.filter((p) => p.name === 'notification-event')) {
    const ref = event.part?.find((p) => p.name === 'focus')?.valueReference?.reference;
    const id = studyIdOf(ref, source.fhirServer);
    if (ids.has(id)) continue;
    ids.add(id);
    const resource = carried.get(`${source.fhirServer}/ImagingStudy/${id}`) ?? carried.get(ref ?? '');
    studies.push({ id, resource: resource?.resourceType === 'ImagingStudy' && resource.id === id ? checkResource(resource, 'client', 'notification ImagingStudy') : undefined });
  }
  if (studies.length === 0) throw bad('an event notification must name at least one ImagingStudy as focus', 'Bundle.entry[0].resource.parameter');
  return { type, studies };
}

/**
 * What a hook's prefetch would give, read from the notifying server: the study's Endpoints and
 * its subject Patient (whose birth date the models' age rules need, as on the hook's path, so
 * that the hook finds this job by the same key).
 */
function resolverFor(source: SubscriptionSource, study: ImagingStudy): PrefetchResolver {
  const subject = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(study.subject.reference ?? '')?.[1];
  return {
    read: (type, id) => source.client.read(type, id),
    resource: (key) => (key === 'patient' && subject !== undefined ? source.client.read('Patient', subject) : Promise.resolve(undefined)),
    entries: () => Promise.resolve([]),
    sources: new Map(),
  };
}

/**
 * The analysis jobs of a notification: each ImagingStudy named, read when the payload does not
 * carry it, described as a hook would describe it (its Endpoints read from the same server).
 *
 * @throws AppError TRIGGER_BAD_REQUEST, or the FHIR read's error (DATA_UNAVAILABLE, UPSTREAM_FAILED)
 */
export async function notificationJobs(source: SubscriptionSource, body: unknown): Promise<AnalysisJob[]> {
  const parsed = parseNotification(body, source);
  const jobs: AnalysisJob[] = [];
  for (const { id, resource } of parsed.studies) {
    const found: FhirResource = resource ?? (await source.client.read('ImagingStudy', id));
    if (found.resourceType !== 'ImagingStudy' || found.id !== id) throw new AppError('DATA_UNAVAILABLE', 'the FHIR server answered another resource for the notified ImagingStudy');
    const study = resource ?? checkResource(found, 'server', 'ImagingStudy');
    jobs.push({ study: await studyToAnalyse(source.domain, study, [], resolverFor(source, study), source.defaultDicomWebRoot) });
  }
  return jobs;
}
