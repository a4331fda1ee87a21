import { readFileSync } from 'node:fs';
import type { Basic, Bundle, CodeSystem, Extension, FhirResource, Subscription } from 'fhir/r4.js';
import { cdsResponseJsonSchema } from '../../src/cds-hooks/response-schema.js';
import { OVERRIDE_REASONS } from '../../src/reports/override-reasons.js';
import { IMAGINGSTUDY_AVAILABLE_TOPIC, OVERRIDE_REASON_SYSTEM, PROJECT_CODES, PROJECT_CODESYSTEM } from '../../src/terminology.js';
import { parseNotification } from '../../src/triggers/index.js';
import { validateR4 } from '../support/fhir-validator.js';

const read = <T>(file: string): T => JSON.parse(readFileSync(`fhir-resources/${file}`, 'utf8')) as T;

describe('published fhir-resources', () => {
  it('the project CodeSystem is valid R4 and defines every code the service emits', () => {
    const cs = read<CodeSystem>('CodeSystem-imaging-cds.json');
    expect(validateR4(cs)).toEqual([]);
    expect(cs.url).toBe(PROJECT_CODESYSTEM);
    const defined = new Map((cs.concept ?? []).map((c) => [c.code, c.display]));
    for (const c of Object.values(PROJECT_CODES)) expect([c.code, defined.get(c.code)]).toEqual([c.code, c.display]);
    expect(cs.count).toBe(cs.concept?.length);
  });

  it('the override-reason CodeSystem matches the reasons on cards', () => {
    const cs = read<CodeSystem>('CodeSystem-override-reason.json');
    expect(validateR4(cs)).toEqual([]);
    expect(cs.url).toBe(OVERRIDE_REASON_SYSTEM);
    expect((cs.concept ?? []).map((c) => ({ system: cs.url, code: c.code, display: c.display }))).toEqual(OVERRIDE_REASONS.map((r) => ({ ...r })));
  });

  it('the published CDS Hooks response JSON Schema is the one the validator uses', () => {
    expect(read<unknown>('cds-hooks-response.schema.json')).toEqual(cdsResponseJsonSchema());
  });
});

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
/** The FHIR server the example Subscriptions live on and notify from (SUBSCRIPTION_FHIR_SERVER). */
const EXAMPLE_SERVER = 'https://fhir.example.org/r4';
const PAYLOADS = ['id-only', 'full-resource'] as const;

const extensionValue = (extensions: readonly Extension[] | undefined, url: string): Extension | undefined => extensions?.find((e) => e.url === url);

describe('Subscription trigger resources (R4 Subscriptions Backport IG)', () => {
  it('the topic "ImagingStudy available" is a valid R4 Basic carrying the topic URL the service checks', () => {
    const topic = read<Basic>('subscriptiontopic-imagingstudy-available.json');
    expect(validateR4(topic)).toEqual([]);
    expect(topic.code.coding).toEqual([{ system: 'http://hl7.org/fhir/fhir-types', code: 'SubscriptionTopic' }]);
    expect(extensionValue(topic.extension, 'http://hl7.org/fhir/StructureDefinition/artifact-url')?.valueUri).toBe(IMAGINGSTUDY_AVAILABLE_TOPIC);
    const trigger = extensionValue(topic.extension, 'http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger')?.extension ?? [];
    expect(trigger.filter((e) => e.url === 'supportedInteraction').map((e) => e.valueCode)).toEqual(['create', 'update']);
    expect(trigger.find((e) => e.url === 'queryCriteria')?.extension).toEqual([{ url: 'current', valueString: 'status=available' }]);
  });

  it.each(PAYLOADS)('the example Subscription (%s) is valid R4, names the topic and posts to the trigger with a placeholder secret', (content) => {
    const sub = read<Subscription>(`examples/subscription/Subscription-imaging-cds-${content}.json`);
    expect(validateR4(sub)).toEqual([]);
    expect(sub.meta?.profile).toEqual([`${BACKPORT}/backport-subscription`]);
    expect(sub.criteria).toBe(IMAGINGSTUDY_AVAILABLE_TOPIC);
    expect(sub.channel.type).toBe('rest-hook');
    expect(new URL(sub.channel.endpoint ?? '').pathname).toBe('/triggers/fhir-subscription');
    expect(sub.channel.payload).toBe('application/fhir+json');
    const payload = (sub.channel as { _payload?: { extension?: Extension[] } })._payload;
    expect(payload?.extension).toEqual([{ url: `${BACKPORT}/backport-payload-content`, valueCode: content }]);
    // Never a real secret in a published example.
    expect(sub.channel.header).toEqual(['Authorization: Bearer <SUBSCRIPTION_SECRET>']);
  });

  it.each(PAYLOADS)('the example %s notification is valid R4 and is what parseNotification accepts', (content) => {
    const bundle = read<Bundle>(`examples/subscription/Bundle-notification-${content}.json`);
    expect(validateR4(bundle)).toEqual([]);
    for (const e of bundle.entry ?? []) if (e.resource !== undefined) expect(validateR4(e.resource as FhirResource)).toEqual([]);
    expect(bundle.meta?.profile).toEqual([`${BACKPORT}/backport-subscription-notification-r4`]);
    const parsed = parseNotification(bundle, { fhirServer: EXAMPLE_SERVER, topic: IMAGINGSTUDY_AVAILABLE_TOPIC });
    expect(parsed.type).toBe('event-notification');
    expect(parsed.studies.map((s) => s.id)).toEqual(['example-cxr']);
    const carried = parsed.studies[0]?.resource;
    if (content === 'full-resource') expect(carried).toEqual(bundle.entry?.[1]?.resource);
    else expect(carried).toBeUndefined();
    // The same Bundle from another server or for another topic is refused.
    expect(() => parseNotification(bundle, { fhirServer: 'https://other.example.org/fhir', topic: IMAGINGSTUDY_AVAILABLE_TOPIC })).toThrow(/ImagingStudy on the subscribed FHIR server/);
    expect(() => parseNotification(bundle, { fhirServer: EXAMPLE_SERVER, topic: 'http://example.org/SubscriptionTopic/other' })).toThrow(/another SubscriptionTopic/);
  });

  it('each example notification names its own example Subscription', () => {
    for (const content of PAYLOADS) {
      const bundle = read<Bundle>(`examples/subscription/Bundle-notification-${content}.json`);
      const status = bundle.entry?.[0]?.resource as { parameter?: { name: string; valueReference?: { reference?: string } }[] } | undefined;
      const sub = read<Subscription>(`examples/subscription/Subscription-imaging-cds-${content}.json`);
      expect(status?.parameter?.find((p) => p.name === 'subscription')?.valueReference?.reference).toBe(`${EXAMPLE_SERVER}/Subscription/${sub.id ?? ''}`);
    }
  });
});
