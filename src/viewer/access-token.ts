/**
 * Verifies the viewer's SMART access tokens (JWTs issued by a launch issuer's authorization
 * server): signature against that server's JWK Set, issuer, audience (the launch's FHIR server),
 * expiry, a patient context and a patient-level read scope for DiagnosticReport. The token
 * is never logged nor put in an error message.
 */
import { decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { AppError } from '../errors.js';
import type { AuthServers } from './auth-servers.js';
import type { LaunchIssuer, ViewerSession } from './types.js';

export interface AccessTokenVerifier {
  /**
   * @param authorization - the Authorization header
   * @throws AppError `SMART_TOKEN_REJECTED` (401), `SMART_SCOPE_INSUFFICIENT` (403),
   *   `SMART_AUTH_SERVER_UNAVAILABLE` (503)
   */
  verify(authorization: string | undefined): Promise<ViewerSession>;
}

const ALGORITHMS = ['RS256', 'RS384', 'PS256', 'PS384', 'ES256', 'ES384'];
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
/**
 * A scope that lets the app read the patient's DiagnosticReports: SMART v1 `read` or `*`, or a
 * SMART v2 permission string (`c r u d s` in that order) that includes `r`.
 */
const PATIENT_READ_RE = /^patient\/(?:\*|DiagnosticReport)\.(?:read|\*|c?ru?d?s?)$/;

const rejected = (reason: string): AppError => new AppError('SMART_TOKEN_REJECTED', reason);

/** The token's scopes: the `scope` string (RFC 9068) or a `scp` array. */
export function scopesOf(payload: JWTPayload): string[] {
  if (typeof payload['scope'] === 'string') return payload['scope'].split(' ').filter((s) => s !== '');
  const scp = payload['scp'];
  return Array.isArray(scp) ? scp.filter((s): s is string => typeof s === 'string') : [];
}

/** Whether the scopes let the app read the launch patient's DiagnosticReports. */
export function canReadReports(scopes: readonly string[]): boolean {
  return scopes.some((s) => PATIENT_READ_RE.test(s));
}

function bearer(authorization: string | undefined): string {
  const match = /^Bearer ([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+)$/.exec(authorization ?? '');
  if (match?.[1] === undefined) throw rejected('an access token (Authorization: Bearer <JWT>) is required');
  return match[1];
}

function claimsUnverified(token: string): JWTPayload {
  try {
    return decodeJwt(token);
  } catch {
    throw rejected('the access token is not a readable JWT');
  }
}

/** The launch the token is for: its issuer's server, and a FHIR server it names in `aud`. */
function launchOf(servers: AuthServers, claims: JWTPayload): LaunchIssuer {
  const audiences = typeof claims.aud === 'string' ? [claims.aud] : (claims.aud ?? []);
  const launch = typeof claims.iss === 'string' ? servers.launchesOf(claims.iss).find((l) => audiences.some((a) => a.replace(/\/+$/, '') === l.iss)) : undefined;
  if (launch === undefined) throw rejected('the access token is not from a configured authorization server for a configured FHIR server (iss and aud)');
  return launch;
}

function joseReason(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'the access token has expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `the access token's ${err.claim} claim is not acceptable`;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'the access token\'s signature does not verify';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'no key of the authorization server matches the access token';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'the access token\'s algorithm is not accepted';
  return 'the access token is not valid';
}

/**
 * @param servers - the launch issuers' authorization servers
 * @param clockSkewSeconds - tolerance for exp / nbf / iat
 */
export function createAccessTokenVerifier(servers: AuthServers, clockSkewSeconds: number): AccessTokenVerifier {
  return {
    async verify(authorization) {
      const token = bearer(authorization);
      const launch = launchOf(servers, claimsUnverified(token));
      const metadata = await servers.metadata(launch);
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, servers.keys(launch), {
          issuer: metadata.issuer,
          audience: launch.iss,
          algorithms: ALGORITHMS,
          clockTolerance: clockSkewSeconds,
          requiredClaims: ['exp'],
        }));
      } catch (err) {
        if (err instanceof AppError) throw err;
        throw rejected(joseReason(err));
      }
      if (!canReadReports(scopesOf(payload))) {
        throw new AppError('SMART_SCOPE_INSUFFICIENT', 'the access token grants no patient-level read of DiagnosticReport (patient/*.read, patient/DiagnosticReport.rs, …)');
      }
      const patient = payload[launch.patientClaim];
      if (typeof patient !== 'string' || !FHIR_ID.test(patient)) throw new AppError('SMART_SCOPE_INSUFFICIENT', 'the access token carries no patient context');
      return {
        fhirServer: launch.iss,
        patientId: patient,
        cdsClient: launch.cdsIssuer === undefined ? undefined : { iss: launch.cdsIssuer, tenant: launch.tenant },
      };
    },
  };
}
