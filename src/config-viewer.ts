/**
 * Settings of the result viewer (a SMART on FHIR app the service serves at /viewer) and of the
 * operations page. Read with the rest of the configuration by config.ts.
 *
 * A launch issuer maps what an EHR launch names (the FHIR server it passes as `iss`, which is
 * also the access token's audience) to the OAuth 2.0 authorization server that issues the
 * tokens and to the trust domain whose results the viewer may show: the CDS client (`iss` of
 * CDS_TRUSTED_ISSUERS, and a tenant) that asked for them. Only configured issuers launch the
 * viewer, so a forged `iss` cannot send the user's browser to an authorization server of its
 * choosing.
 */
import path from 'node:path';
import { z } from 'zod';
import { createOriginAllowList } from './auth/index.js';
import { ConfigError, csv, jsonListSetting } from './config-base.js';

const launchIssuer = z.strictObject({
  /** The FHIR server the EHR sends as `iss`; access tokens must name it in `aud`. */
  iss: z.url(),
  /** The OpenID issuer of the authorization server (discovery at /.well-known/openid-configuration). */
  authorizationServer: z.url(),
  /** The viewer's client id at that server (a public client: PKCE, no secret). */
  clientId: z.string().min(1),
  /** The CDS client (CDS_TRUSTED_ISSUERS) whose results this launch sees; omitted when calls are not authenticated. */
  cdsIssuer: z.string().min(1).optional(),
  tenant: z.string().min(1).optional(),
  /** The access-token claim that carries the launch's patient. */
  patientClaim: z.string().min(1).default('patient'),
});

export type LaunchIssuer = z.output<typeof launchIssuer>;

/** The viewer's environment variables, merged into config.ts's schema. */
export const VIEWER_ENV = {
  /** JSON array of launch issuers (or a path to a file holding it); empty: the viewer is off. */
  SMART_LAUNCH_ISSUERS: z.string().optional(),
  /** Origins beyond the authorization servers the service may fetch discovery documents and JWKS from. */
  SMART_AUTH_ALLOWLIST: csv,
  /** Scopes the viewer asks for (SMART v1 `.read` or v2 `.rs` patient scopes are both accepted). */
  SMART_SCOPE: z.string().min(1).default('openid fhirUser launch patient/*.read'),
  SMART_FETCH_TIMEOUT_MS: z.coerce.number().int().positive().default(3000),
  SMART_FETCH_MAX_BYTES: z.coerce.number().int().positive().default(256 * 1024),
  /** Where the bundled pages are (npm run build writes them). */
  VIEWER_ASSETS_DIR: z.string().optional(),
};

export interface ViewerConfig {
  readonly launchIssuers: readonly LaunchIssuer[];
  /** Where discovery and JWKS may be fetched from: every authorization server, plus SMART_AUTH_ALLOWLIST. */
  readonly authAllowList: readonly string[];
  readonly scope: string;
  readonly fetchTimeoutMs: number;
  readonly fetchMaxBytes: number;
  readonly assetsDir: string;
}

interface ViewerEnv {
  readonly SMART_LAUNCH_ISSUERS?: string | undefined;
  readonly SMART_AUTH_ALLOWLIST: string[];
  readonly SMART_SCOPE: string;
  readonly SMART_FETCH_TIMEOUT_MS: number;
  readonly SMART_FETCH_MAX_BYTES: number;
  readonly VIEWER_ASSETS_DIR?: string | undefined;
}

/**
 * The viewer's settings, checked against the CDS issuers they map to.
 *
 * @param e - the parsed environment
 * @param context - the trusted CDS issuers and the repository root (for the default assets folder)
 * @throws ConfigError - for an issuer listed twice, a CDS issuer that is not trusted, a bad allow-list entry
 */
export function viewerConfig(e: ViewerEnv, context: { readonly trustedIssuers: readonly { readonly iss: string }[]; readonly projectRoot: string }): ViewerConfig {
  const issuers = jsonListSetting(e.SMART_LAUNCH_ISSUERS, 'SMART_LAUNCH_ISSUERS', launchIssuer).map((i) => ({ ...i, iss: i.iss.replace(/\/+$/, '') }));
  const authenticated = context.trustedIssuers.length > 0;
  const seen = new Set<string>();
  for (const i of issuers) {
    if (seen.has(i.iss)) throw new ConfigError(`SMART_LAUNCH_ISSUERS: ${i.iss} is listed twice`);
    seen.add(i.iss);
    if (authenticated && !context.trustedIssuers.some((t) => t.iss === i.cdsIssuer)) {
      throw new ConfigError(`SMART_LAUNCH_ISSUERS: ${i.iss} needs cdsIssuer, one of CDS_TRUSTED_ISSUERS (whose results its launches see)`);
    }
    if (!authenticated && i.cdsIssuer !== undefined) throw new ConfigError(`SMART_LAUNCH_ISSUERS: ${i.iss} names cdsIssuer but calls are not authenticated (no CDS_TRUSTED_ISSUERS)`);
  }
  const authAllowList = [...issuers.map((i) => i.authorizationServer), ...e.SMART_AUTH_ALLOWLIST];
  try {
    createOriginAllowList(authAllowList);
  } catch (err) {
    throw new ConfigError(`SMART_AUTH_ALLOWLIST: ${err instanceof Error ? err.message : String(err)}`);
  }
  return Object.freeze({
    launchIssuers: Object.freeze(issuers.map((i) => Object.freeze(i))),
    authAllowList,
    scope: e.SMART_SCOPE,
    fetchTimeoutMs: e.SMART_FETCH_TIMEOUT_MS,
    fetchMaxBytes: e.SMART_FETCH_MAX_BYTES,
    assetsDir: e.VIEWER_ASSETS_DIR ?? path.join(context.projectRoot, 'dist', 'web'),
  });
}
