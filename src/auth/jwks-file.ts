/**
 * A JWK Set read from a file, for issuers whose keys are configured rather than fetched.
 */
import { readFileSync } from 'node:fs';
import type { JSONWebKeySet } from 'jose';

/**
 * Reads and checks the shape of a JWK Set file (RFC 7517 § 5: an object with a `keys` array).
 * The keys themselves are checked by jose when the verifier imports them.
 *
 * @param file - path of the JSON file
 * @throws Error naming the file when it cannot be read or is not a JWK Set
 */
export function readJwksFile(file: string): JSONWebKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`JWKS file ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (parsed === null || typeof parsed !== 'object' || !Array.isArray((parsed as { keys?: unknown }).keys)) {
    throw new Error(`JWKS file ${file}: not a JWK Set (an object with a "keys" array)`);
  }
  return parsed as JSONWebKeySet;
}
