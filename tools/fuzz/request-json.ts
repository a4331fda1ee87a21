/**
 * Mutations of a request's JSON: wrong types, hostile strings, FHIR ids with path tricks,
 * huge and deep structures, prototype keys, bad prefetch shapes; and of its text: malformed
 * JSON, invalid UTF-8, top-level primitives, other media entirely.
 */
import type { Random } from './random.js';
import type { Draft, TemplateData } from './request-templates.js';

export const HOSTILE_STRINGS: readonly string[] = [
  '', ' ', '../../etc/passwd', '..%2F..%2Fetc%2Fpasswd', 'Patient/../../Observation', '\u0000', 'a\u0000b', '\ud800', '\udfff\ud800', '\uffff', '\u202eevil',
  '<script>alert(1)</script>', '{{constructor.constructor("return process")()}}', '{{#each this}}{{/each}}', '${7*7}', "' OR 1=1 --", '\r\nX-Injected: 1',
  'http://169.254.169.254/latest/meta-data/', 'file:///etc/passwd', 'javascript:alert(1)', '🙂'.repeat(20), 'null', 'undefined', '__proto__', 'constructor',
  'x'.repeat(65), 'x'.repeat(5000), '%', '%zz', '%00', '%2e%2e', 'ÿ', 'NaN', '-0', '1e309', '0x1F',
];

export const ID_TRICKS: readonly string[] = [
  '../Patient/other', '..', '.', 'cxr-1/../cxr-2', 'cxr-1%2F..%2Fx', 'cxr-1?patient=other', 'cxr-1#frag', 'cxr-1&_include=*', 'Patient/pat-cxr-4711',
  ' cxr-1', 'cxr-1 ', 'CXR-1', 'a'.repeat(64), 'a'.repeat(65), 'pat-cxr-4711\u0000', '*', '%25', 'cxr-1;x', 'http://evil.example.org/x', 'cxr-1/_history/1',
  'cxr-1/$everything', '-', 'cxr-1\n', 'cxr-9999', 'pat-cxr-4711', 'other-patient', '1e3', '0',
];

const TARGET_KEYS = new Set(['patientId', 'imagingStudyId', 'serviceRequestId', 'encounterId', 'userId', 'id', 'reference', 'address', 'fhirServer', 'hook', 'hookInstance', 'uid', 'value', 'system', 'code', 'card', 'outcome', 'outcomeTimestamp', 'access_token', 'token_type', 'expires_in', 'resourceType', 'type', 'status', 'started', 'selections', 'entry', 'series', 'instance', 'endpoint', 'subject', 'identifier', 'modality']);

/** Marks a value the serialiser replaces with deep nesting written as text (no recursion here). */
export const DEEP_MARK = '\u0001deep:';

export function hostileValue(r: Random): unknown {
  switch (r.int(12)) {
    case 0: return null;
    case 1: return r.pick([true, false]);
    case 2: return r.pick([0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 2, -0, 123456789012345]);
    case 3: return r.pick([[], {}, [null], [[]], [{}]]);
    case 4: return JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}') as unknown;
    case 5: return `${DEEP_MARK}${r.pick([64, 1000, 10_000, 100_000, 400_000])}`;
    case 6: return Array.from({ length: r.pick([1000, 20_000, 100_000]) }, (_, i) => i);
    case 7: return 'x'.repeat(r.pick([10_000, 300_000, 1_100_000]));
    default: return r.pick(HOSTILE_STRINGS);
  }
}

interface Slot {
  readonly parent: Record<string, unknown> | unknown[];
  readonly key: string | number;
}

/** Every (parent, key) in the tree, breadth first, at most `max`. */
function slots(root: unknown, max = 5000): Slot[] {
  const out: Slot[] = [];
  const queue: unknown[] = [root];
  while (queue.length > 0 && out.length < max) {
    const node = queue.shift();
    if (Array.isArray(node)) {
      node.forEach((v, i) => { out.push({ parent: node, key: i }); queue.push(v); });
    } else if (typeof node === 'object' && node !== null) {
      for (const [k, v] of Object.entries(node)) { out.push({ parent: node as Record<string, unknown>, key: k }); queue.push(v); }
    }
  }
  return out;
}

function set(s: Slot, value: unknown): void {
  (s.parent as Record<string | number, unknown>)[s.key] = value;
}

/** Tree mutations; they change `d.json` in place. Returns a note. */
export function mutateTree(d: Draft, _data: TemplateData, r: Random): string {
  if (d.json === undefined || typeof d.json !== 'object' || d.json === null) {
    d.json = r.chance(0.5) ? { hook: 'x', context: {} } : hostileValue(r);
    return 'body added to a request without one';
  }
  const all = slots(d.json);
  const targeted = all.filter((s) => TARGET_KEYS.has(String(s.key)));
  const choice = r.int(6);
  const s = r.pick(targeted.length > 0 && choice < 3 ? targeted : all.length > 0 ? all : [{ parent: d.json as Record<string, unknown>, key: 'x' }]);
  switch (choice) {
    case 0: {
      const v = r.pick(ID_TRICKS);
      set(s, v);
      return `${String(s.key)} → ${JSON.stringify(v)}`;
    }
    case 1:
    case 3: {
      const v = hostileValue(r);
      set(s, v);
      return `${String(s.key)} → ${describeValue(v)}`;
    }
    case 2:
    case 4: {
      if (Array.isArray(s.parent)) s.parent.splice(Number(s.key), 1);
      else Reflect.deleteProperty(s.parent, s.key);
      return `${String(s.key)} removed`;
    }
    default: {
      const objects = all.map((x) => (x.parent as Record<string | number, unknown>)[x.key]).filter((v): v is object => typeof v === 'object' && v !== null);
      const target = objects.length > 0 && r.chance(0.7) ? r.pick(objects) : d.json;
      const key = r.pick(['__proto__', 'constructor', 'prototype', '', 'hook', 'context', 'toString', 'x'.repeat(1000), '\u0000']);
      if (Array.isArray(target)) target.push(hostileValue(r));
      else Object.defineProperty(target, key, { value: hostileValue(r), enumerable: true, configurable: true, writable: true });
      return `key ${JSON.stringify(key.slice(0, 20))} added`;
    }
  }
}

/** A short description of a value (never serialises it whole: values can be huge). */
function describeValue(v: unknown): string {
  if (typeof v === 'string') return v.startsWith(DEEP_MARK) ? `nesting ${v.slice(DEEP_MARK.length)} deep` : v.length > 60 ? `string of ${v.length} chars` : JSON.stringify(v);
  if (Array.isArray(v)) return `array of ${v.length}`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    const entries = Array.isArray(o.entry) ? `, ${o.entry.length} entries` : '';
    return `${typeof o.resourceType === 'string' ? o.resourceType : 'object'} {${Object.keys(o).slice(0, 6).join(', ')}}${entries}`;
  }
  return String(v);
}

function endpointWith(data: TemplateData, address: string): Record<string, unknown> {
  return { ...data.endpoint, address };
}

/** A bad prefetch: wrong shapes, wrong resources, hostile endpoints, huge bundles. */
export function mutatePrefetch(d: Draft, data: TemplateData, r: Random): string {
  if (typeof d.json !== 'object' || d.json === null || Array.isArray(d.json)) return mutateTree(d, data, r);
  const body = d.json as Record<string, unknown>;
  const key = r.pick(['imagingStudy', 'priorStudies', 'recentStudies', '__proto__', 'ImagingStudy']);
  const study = { ...r.pick(data.studies) };
  const bundle = (entries: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({ resourceType: 'Bundle', type: 'searchset', entry: entries, ...extra });
  const shapes: (() => unknown)[] = [
    () => r.pick([null, 'string', [], 42, {}, true]),
    () => ({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] }),
    () => ({ resourceType: 'Patient', id: data.patientId }),
    () => ({ resourceType: 'Bundle' }),
    () => ({ resourceType: 'Bundle', entry: r.pick([{}, 'x', null, [null, 1, 'x', {}, { resource: null }, { resource: { resourceType: 'ImagingStudy' } }]]) }),
    () => bundle([{ resource: { ...study, series: r.pick(['x', [{}], [{ uid: 1 }], null, [{ uid: '1.2.3', modality: 'DX', instance: 'x' }]]) } }, { resource: data.endpoint }]),
    () => bundle([{ resource: study }, { resource: endpointWith(data, r.pick(['file:///etc/passwd', 'http://127.0.0.1:9/dicom-web', 'http://169.254.169.254/', 'ftp://x/y', '', 'http://[::1]:1/', `${data.endpoint.address}/../../instances`, `${data.endpoint.address}?x=`, 'javascript:alert(1)', 'http://user:pw@127.0.0.1:9/', `${data.endpoint.address}/%2e%2e/%2e%2e/tools`])) }]),
    () => bundle([{ resource: study }, { resource: data.endpoint }], { link: [{ relation: 'next', url: r.pick([`${data.fhirBaseUrl}/ImagingStudy?_page=2`, 'http://evil.example.org/fhir/ImagingStudy?p=2', 'not a url']) }] }),
    () => bundle(Array.from({ length: r.pick([200, 2000]) }, (_, i) => ({ resource: { ...study, id: `copy-${i}` } })).concat([{ resource: data.endpoint } as never])),
    () => bundle([{ resource: { ...study, subject: { reference: r.pick(['Patient/other', 'Patient/../pat-cxr-4711', '', 'pat-cxr-4711']) } } }, { resource: data.endpoint }]),
    () => bundle([{ resource: { ...study, endpoint: r.pick([[], [{ reference: 'Endpoint/none' }], [{ reference: 'http://evil/Endpoint/x' }], 'x']) } }, { resource: data.endpoint }]),
    () => bundle([{ resource: { ...study, identifier: r.pick([[], [{ system: 'urn:dicom:uid', value: 'urn:oid:' }], [{ system: 'urn:dicom:uid', value: `urn:oid:${'1.'.repeat(200)}1` }], [{ value: '1.2.3' }], 'x']) } }, { resource: data.endpoint }]),
    () => bundle([{ resource: { ...study, series: [{ uid: '1.2.3', modality: { code: 'DX' }, instance: Array.from({ length: 5000 }, (_, i) => ({ uid: `1.2.3.${i}` })) }] } }, { resource: data.endpoint }]),
  ];
  // A copy: the stack's studies and Endpoint must not change under later mutations.
  const value: unknown = structuredClone(r.pick(shapes)());
  if (r.chance(0.15)) body.prefetch = value;
  else body.prefetch = { ...(typeof body.prefetch === 'object' && body.prefetch !== null ? body.prefetch : {}), [key]: value };
  return `prefetch ${key}: ${describeValue(value)}`;
}

/** JSON text with deep-nesting marks expanded. */
export function serialise(json: unknown): string {
  const text = (JSON.stringify(json) as string | undefined) ?? 'null';
  if (!text.includes('\\u0001deep:')) return text;
  return text.replace(/"\\u0001deep:(\d+)"/g, (_m, n: string) => '['.repeat(Number(n)) + ']'.repeat(Number(n)));
}

const WHOLE_BODIES: readonly string[] = ['', 'null', '[]', '"x"', '1', 'true', '{}', '[{}]', '{"__proto__":{"polluted":true}}', '<?xml version="1.0"?><a/>', 'hook=x&context=y', ' ', '\ufeff{}', '{"a":1}{"b":2}', '{"a":1,"a":2}'];

/** Text mutations: returns the body bytes and a note. */
export function mutateText(text: string, r: Random): { body: Uint8Array; note: string } {
  const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');
  const at = r.int(Math.max(1, text.length));
  switch (r.int(9)) {
    case 0: return { body: utf8(text.slice(0, at)), note: `JSON cut at ${at} of ${text.length}` };
    case 1: return { body: utf8(text.slice(0, at) + text.slice(at + 1)), note: `character ${at} deleted` };
    case 2: {
      const c = r.pick(['{', '}', '[', ']', '"', ',', ':', '\\', '\u0000', ' ', '\n', 'x']);
      return { body: utf8(text.slice(0, at) + c + text.slice(at)), note: `${JSON.stringify(c)} inserted at ${at}` };
    }
    case 3: {
      const v = r.pick(['NaN', 'Infinity', '-', '1e99999', '0x10', '01', 'undefined', '/*c*/', "'x'", '"\\ud800"', '"\\u00"']);
      const colon = text.indexOf(':', at);
      const where = colon < 0 ? at : colon + 1;
      return { body: utf8(text.slice(0, where) + v + text.slice(where)), note: `${v} inserted as a value` };
    }
    case 4: {
      const bad = r.pick([[0xc3, 0x28], [0xff], [0xed, 0xa0, 0x80], [0xf0, 0x28, 0x8c, 0x28], [0xc0, 0xaf], [0xe2, 0x82]]);
      const bytes = utf8(text);
      const out = new Uint8Array(bytes.byteLength + bad.length);
      out.set(bytes.subarray(0, at), 0);
      out.set(bad, at);
      out.set(bytes.subarray(at), at + bad.length);
      return { body: out, note: `invalid UTF-8 ${bad.map((b) => b.toString(16)).join(' ')} at ${at}` };
    }
    case 5: return { body: utf8(text + r.pick(['}', ',', 'x', '\u0000', ']]]', '\n\n{}'])), note: 'trailing garbage' };
    case 6: {
      const v = r.pick(WHOLE_BODIES);
      return { body: utf8(v), note: `body ${JSON.stringify(v)}` };
    }
    case 7: return { body: utf8(text.replace('{', `{"hook":${r.pick(['1', 'null', '"x"', '{}'])},"context":null,`)), note: 'duplicate keys before the real ones' };
    default: return { body: r.bytes(r.pick([1, 16, 1024, 65536])), note: 'random bytes' };
  }
}
