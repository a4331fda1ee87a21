/**
 * Keys and client JWTs for the auth benchmark: one ES384 key pair whose public JWK Set is
 * written to a file (the service reads it as a configured `jwksFile`, no JWKS server), shared by
 * several issuers so that the load spreads over them like several EHRs.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export const KID = 'bench-es384-1';
/** The base the service is configured with; tokens carry `aud` = base + the path called. */
export const PUBLIC_BASE_URL = 'https://cds.bench.invalid';
export const DISCOVERY_AUD = `${PUBLIC_BASE_URL}/cds-services`;

export interface BenchKeys {
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  readonly jwksFile: string;
  readonly issuers: readonly string[];
}

/**
 * @param dir - where to write the JWK Set file
 * @param issuerCount - how many issuers share the key
 */
export async function createBenchKeys(dir: string, issuerCount: number): Promise<BenchKeys> {
  const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid: KID, alg: 'ES384', use: 'sig' };
  const jwksFile = path.join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [publicJwk] }));
  const issuers = Array.from({ length: issuerCount }, (_, i) => `https://ehr-${i + 1}.bench.invalid`);
  return { privateKey, publicJwk, jwksFile, issuers };
}

/** `CDS_TRUSTED_ISSUERS` for the service: every issuer with the same key file. */
export function trustedIssuersEnv(keys: BenchKeys): string {
  return JSON.stringify(keys.issuers.map((iss) => ({ iss, jwksFile: keys.jwksFile })));
}

/** One client JWT as a CDS client makes it: ES384, `kid`, 5-minute lifetime, fresh `jti`. */
export function signToken(keys: BenchKeys, iss: string, aud: string = DISCOVERY_AUD): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss, aud, iat, exp: iat + 300, jti: randomUUID() }).setProtectedHeader({ alg: 'ES384', kid: KID, typ: 'JWT' }).sign(keys.privateKey);
}

/**
 * Signs `count` tokens, the issuers taking turns, a batch at a time (signing runs on libuv's
 * thread pool, so batches use every core).
 */
export async function signTokens(keys: BenchKeys, count: number): Promise<string[]> {
  const tokens: string[] = [];
  const batch = 256;
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    const signed = await Promise.all(Array.from({ length: n }, (_, i) => signToken(keys, keys.issuers[(start + i) % keys.issuers.length] ?? '')));
    tokens.push(...signed);
  }
  return tokens;
}
