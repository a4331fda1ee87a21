/**
 * The launch issuers' authorization servers: their endpoints (OpenID discovery) and signing keys
 * (JWK Set), fetched on first use and kept. A key id the kept set does not hold makes one refetch,
 * at most every 30 seconds, so a key the server rotates in is picked up and made-up key ids
 * cannot make the service hammer the server.
 */
import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
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

  function remoteKeys(launch: LaunchIssuer): JWTVerifyGetKey {
    let set: { local: JWTVerifyGetKey; fetchedAt: number } | undefined;
    let refetch: Promise<void> | undefined;
    const load = async (): Promise<void> => {
      const { jwksUri } = await metadata(launch);
      const jwks = (await fetchJson(jwksUri, limits)) as JSONWebKeySet;
      try {
        set = { local: createLocalJWKSet(jwks), fetchedAt: Date.now() };
      } catch (err) {
        throw new AppError('SMART_AUTH_SERVER_UNAVAILABLE', 'the authorization server\'s JWK Set is malformed', { cause: err });
      }
    };
    const reload = (): Promise<void> => {
      refetch ??= load().finally(() => { refetch = undefined; });
      return refetch;
    };
    return async (header, token) => {
      if (set === undefined || Date.now() - set.fetchedAt > KEYS_MAX_AGE_MS) await reload();
      try {
        return await (set as NonNullable<typeof set>).local(header, token);
      } catch (err) {
        const stale = set !== undefined && Date.now() - set.fetchedAt > REFETCH_COOLDOWN_MS;
        if (!(err instanceof joseErrors.JWKSNoMatchingKey) || !stale) throw err;
        await reload();
        return (set as NonNullable<typeof set>).local(header, token);
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
