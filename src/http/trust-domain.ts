/**
 * The trust domain of a call: who vouches for the patient data it names. With client JWTs it is
 * the issuer and the tenant claim; unauthenticated (loopback development mode) it is the one
 * local domain. Stored results are kept and served per domain, so one EHR (or one tenant of a
 * multi-tenant EHR) never sees another's.
 */

/** The domain of unauthenticated calls. */
export const LOCAL_DOMAIN = 'local';

/**
 * An opaque, unambiguous key for the domain (JSON, so no issuer/tenant pair can be forged to
 * collide with another by choosing separators).
 *
 * @param client - the verified client, or undefined when calls are not authenticated
 */
export function trustDomainOf(client: { readonly iss: string; readonly tenant?: string | undefined } | undefined): string {
  return client === undefined ? LOCAL_DOMAIN : JSON.stringify(['jwt', client.iss, client.tenant ?? null]);
}
