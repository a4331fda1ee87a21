/**
 * Plain data of the viewer's server side.
 */
export type { LaunchIssuer, ViewerConfig } from '../config-viewer.js';

/** A verified SMART access token: whose data it opens, within which trust domain. */
export interface ViewerSession {
  /** The launch issuer that vouches for the token (its FHIR server is the token's audience). */
  readonly fhirServer: string;
  /** The launch's patient (FHIR logical id); the viewer shows nothing of anyone else. */
  readonly patientId: string;
  /** The CDS client whose results this launch sees; undefined when CDS calls are not authenticated. */
  readonly cdsClient: { readonly iss: string; readonly tenant: string | undefined } | undefined;
}
