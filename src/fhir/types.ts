/**
 * Type helpers over the @types/fhir R4 definitions, shared by the fhir layer and its callers.
 */
import type { FhirResource } from 'fhir/r4.js';

/** Every R4 resource type name. */
export type ResourceTypeName = FhirResource['resourceType'];

/** The R4 resource interface for a type name, e.g. `ResourceOf<'ImagingStudy'>` is `ImagingStudy`. */
export type ResourceOf<K extends ResourceTypeName> = Extract<FhirResource, { readonly resourceType: K }>;
