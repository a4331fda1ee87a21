/**
 * The launch issuers' authorization servers: their endpoints (OpenID discovery) and signing keys
 * (JWK Set), fetched on first use and kept. A key id the kept set does not hold makes one refetch,
 * at most every 30 seconds, so a key the server rotates in is picked up and made-up key ids
 * cannot make the service hammer the server.
 */
import { createRemoteJWKSet, customFetch, errors as joseErrors, type FetchImplementation, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { LaunchIssuer } from './types.js';
import { fetchJson, type FetchLimits } from './capped-fetch.js';

/** What the viewer's page needs to run the authorization code flow, and what the service verifies against. */
export interface AuthServerMetadata {
  readonly issuer: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly jwksUri: string;
}

export interface AuthServers {
  /** The launch issuer for an `iss` of an EHR launch (the FHIR server), or undefined when none is configured. */
  launchFor(fhirServer: string): LaunchIssuer | undefined;
  /** Launch issuers whose authorization server is `issuer` (an access token's `iss`). */
  launchesOf(issuer: string): readonly LaunchIssuer[];
  metadata(launch: LaunchIssuer): Promise<AuthServerMetadata>;
  /** The server's keys for jose's jwtVerify. */
  keys(launch: LaunchIssuer): JWTVerifyGetKey;
}

const discovery = z.object({
  issuer: z.string(),
  authorization_endpoint: z.url(),
  token_endpoint: z.url(),
  jwks_uri: z.url(),
});

const REFETCH_COOLDOWN_MS = 30_000;
const KEYS_MAX_AGE_MS = 10 * 60_000;

const trimSlash = (s: string): string => s.replace(/\/+$/, '');

/**
 * @param launches - the configured launch issuers
 * @param limits - allow-list (the authorization servers and SMART_AUTH_ALLOWLIST), timeout, byte cap
 */
export function createAuthServers(launches: readonly LaunchIssuer[], limits: FetchLimits): AuthServers {
  const metadataByServer = new Map<string, Promise<AuthServerMetadata>>();
  const keysByServer = new Map<string, JWTVerifyGetKey>();

  async function discover(server: string): Promise<AuthServerMetadata> {
    const parsed = discovery.safeParse(await fetchJson(`${trimSlash(server)}/.well-known/openid-configuration`, limits));
    if (!parsed.success) throw new AppError('SMART_AUTH_SERVER_UNAVAILABLE', 'the authorization server\'s discovery document lacks issuer, authorization, token or JWKS endpoint');
    const d = parsed.data;
    // OpenID Connect Discovery § 4.3: the issuer in the document must be the one asked for.
    if (trimSlash(d.issuer) !== trimSlash(server)) throw new AppError('SMART_AUTH_SERVER_UNAVAILABLE', 'the discovery document names another issuer than the configured authorization server');
    return { issuer: d.issuer, authorizationEndpoint: d.authorization_endpoint, tokenEndpoint: d.token_endpoint, jwksUri: d.jwks_uri };
  }

  function metadata(launch: LaunchIssuer): Promise<AuthServerMetadata> {
    let pending = metadataByServer.get(launch.authorizationServer);
    if (pending === undefined) {
      pending = discover(launch.authorizationServer);
      // A failed discovery is not kept: the next request tries again.
      pending.catch(() => metadataByServer.delete(launch.authorizationServer));
      metadataByServer.set(launch.authorizationServer, pending);
    }
    return pending;
  }

  /**
   * jose's remote key set (one fetch at a time; refetch for an unknown key id at most every
   * 30 s; keys kept 10 minutes) over the capped fetch: allow-listed, no redirects, byte cap.
   */
  function remoteKeys(launch: LaunchIssuer): JWTVerifyGetKey {
    const capped: FetchImplementation = async (url) => new Response(JSON.stringify(await fetchJson(url, limits)), { status: 200, headers: { 'content-type': 'application/json' } });
    let set: Promise<JWTVerifyGetKey> | undefined;
    return async (header, token) => {
      if (set === undefined) {
        const created = metadata(launch).then(({ jwksUri }) =>
          createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: limits.timeoutMs, cooldownDuration: REFETCH_COOLDOWN_MS, cacheMaxAge: KEYS_MAX_AGE_MS, [customFetch]: capped }),
        );
        // Discovery failed: not kept, the next token tries again.
        created.catch(() => { if (set === created) set = undefined; });
        set = created;
      }
      try {
        return await (await set)(header, token);
      } catch (err) {
        if (err instanceof joseErrors.JWKSInvalid) throw new AppError('SMART_AUTH_SERVER_UNAVAILABLE', 'the authorization server\'s JWK Set is malformed', { cause: err });
        throw err;
      }
    };
  }

  return {
    launchFor: (fhirServer) => launches.find((l) => l.iss === trimSlash(fhirServer)),
    launchesOf: (issuer) => launches.filter((l) => trimSlash(l.authorizationServer) === trimSlash(issuer)),
    metadata,
    keys(launch) {
      let keys = keysByServer.get(launch.authorizationServer);
      if (keys === undefined) {
        keys = remoteKeys(launch);
        keysByServer.set(launch.authorizationServer, keys);
      }
      return keys;
    },
  };
}
