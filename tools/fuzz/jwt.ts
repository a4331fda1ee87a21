/**
 * A local JWT issuer (its keys in a JWKS file the service trusts, as
 * test/integration/results-endpoint.test.ts sets it up) and hostile variants of its tokens.
 * Signed with node:crypto, so that every part of a token can be wrong on purpose.
 */
import { createHmac, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Random } from './random.js';

export const ISSUER = 'https://ehr.fuzz.example.org';
export const TENANT_ISSUER = 'https://tenant-ehr.fuzz.example.org';
export const TENANTS = ['tenant-a', 'tenant-b'];

export interface Issuer {
  readonly ec: KeyObject;
  readonly rsa: KeyObject;
  /** A key the service does not know. */
  readonly stranger: KeyObject;
  readonly ecPublicPem: string;
  /** CDS_TRUSTED_ISSUERS for the service. */
  readonly trustedIssuers: string;
}

/** Makes the keys, writes the JWKS files into `dir`, and returns the issuer configuration. */
export function createIssuer(dir: string): Issuer {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const stranger = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const jwks = {
    keys: [
      { ...ec.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES384', use: 'sig' },
      { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'r1', alg: 'RS384', use: 'sig' },
    ],
  };
  const file = path.join(dir, 'jwks.json');
  writeFileSync(file, JSON.stringify(jwks));
  const issuers = [
    { iss: ISSUER, jwksFile: file },
    { iss: TENANT_ISSUER, jwksFile: file, tenants: TENANTS },
  ];
  return { ec: ec.privateKey, rsa: rsa.privateKey, stranger: stranger.privateKey, ecPublicPem: ec.publicKey.export({ type: 'spki', format: 'pem' }).toString(), trustedIssuers: JSON.stringify(issuers) };
}

const b64 = (data: string | Uint8Array): string => Buffer.from(data).toString('base64url');

type Signer = 'ec' | 'rsa' | 'stranger' | 'none' | 'hmac-public-pem' | 'broken';

/** Header, payload and signature, each of which a variant may spoil. */
export function compact(issuer: Issuer, header: unknown, payload: unknown, signer: Signer, raw?: { header?: string; payload?: string }): string {
  const input = `${raw?.header ?? b64(JSON.stringify(header))}.${raw?.payload ?? b64(JSON.stringify(payload))}`;
  const data = Buffer.from(input);
  const signatures: Record<Signer, () => Uint8Array> = {
    ec: () => sign('sha384', data, { key: issuer.ec, dsaEncoding: 'ieee-p1363' }),
    stranger: () => sign('sha384', data, { key: issuer.stranger, dsaEncoding: 'ieee-p1363' }),
    rsa: () => sign('sha384', data, issuer.rsa),
    none: () => new Uint8Array(0),
    'hmac-public-pem': () => createHmac('sha384', issuer.ecPublicPem).update(input).digest(),
    broken: () => {
      const good = sign('sha384', data, { key: issuer.ec, dsaEncoding: 'ieee-p1363' });
      good[5] = (good[5] ?? 0) ^ 1;
      return good;
    },
  };
  return `${input}.${b64(signatures[signer]())}`;
}

/** The claims of a valid token for `aud`. */
export function validClaims(aud: string, nowS: number, tenant?: string): Record<string, unknown> {
  return { iss: tenant === undefined ? ISSUER : TENANT_ISSUER, sub: 'fuzz-client', aud, iat: nowS, exp: nowS + 240, jti: randomUUID(), ...(tenant === undefined ? {} : { tenant }) };
}

/** A valid token for `aud`. */
export function validToken(issuer: Issuer, aud: string, r: Random): string {
  const nowS = Math.floor(Date.now() / 1000);
  if (r.chance(0.15)) return compact(issuer, { alg: 'RS384', kid: 'r1', typ: 'JWT' }, validClaims(aud, nowS), 'rsa');
  if (r.chance(0.15)) return compact(issuer, { alg: 'ES384', kid: 'k1', typ: 'JWT' }, validClaims(aud, nowS, r.pick(TENANTS)), 'ec');
  return compact(issuer, { alg: 'ES384', kid: 'k1', typ: 'JWT' }, validClaims(aud, nowS), 'ec');
}

const HOSTILE_KINDS = [
  'alg-none', 'alg-none-upper', 'hs384-public-pem', 'es256-label', 'rs384-with-ec-kid', 'wrong-kid', 'no-kid', 'kid-traversal', 'kid-object',
  'foreign-jku', 'embedded-jwk', 'unknown-key', 'broken-signature', 'expired', 'iat-future', 'nbf-future', 'long-lifetime', 'old-iat', 'wrong-aud',
  'aud-array', 'aud-with-query', 'wrong-iss', 'iss-array', 'no-jti', 'jti-number', 'exp-string', 'no-exp', 'tenant-unknown', 'tenant-object',
  'tenant-without-tenants', 'huge-claim', 'header-not-json', 'payload-not-json', 'payload-array', 'crit-header', 'two-parts', 'four-parts',
  'empty-parts', 'garbage', 'not-base64url', 'unicode', 'empty-bearer', 'lowercase-scheme', 'basic-scheme', 'double-space', 'token-only',
  'missing', 'huge-token', 'iat-string', 'exp-huge', 'negative-times',
] as const;
export type HostileJwt = (typeof HOSTILE_KINDS)[number];
export { HOSTILE_KINDS };

type Claims = Record<string, unknown>;

/** Claims that differ from a valid token's, per kind (kinds not listed keep valid claims). */
const CLAIMS: Partial<Record<HostileJwt, (c: Claims, aud: string, now: number, r: Random) => Claims>> = {
  expired: (c, _a, now) => ({ ...c, iat: now - 600, exp: now - 300 }),
  'iat-future': (c, _a, now) => ({ ...c, iat: now + 3600, exp: now + 3700 }),
  'nbf-future': (c, _a, now) => ({ ...c, nbf: now + 3600 }),
  'long-lifetime': (c, _a, now) => ({ ...c, exp: now + 86_400 * 365 }),
  'old-iat': (c, _a, now) => ({ ...c, iat: now - 3000, exp: now + 60 }),
  'wrong-aud': (c, aud, _n, r) => ({ ...c, aud: r.pick(['https://cds.example.org/cds-services', 'https://evil.example.org/cds-services/imaging-ai-result', '', aud.toUpperCase(), `${aud}/`]) }),
  'aud-array': (c, aud, _n, r) => ({ ...c, aud: r.chance(0.5) ? [aud, 'https://other.example.org'] : [] }),
  'aud-with-query': (c, aud) => ({ ...c, aud: `${aud}?x=1` }),
  'wrong-iss': (c, _a, _n, r) => ({ ...c, iss: r.pick(['https://evil.example.org', '', ISSUER.toUpperCase(), `${ISSUER}/`, 'null']) }),
  'iss-array': (c) => ({ ...c, iss: [ISSUER] }),
  'no-jti': ({ jti: _jti, ...rest }) => rest,
  'jti-number': (c, _a, _n, r) => ({ ...c, jti: r.pick([1, 1e308, -0, null, { a: 1 }, 'x'.repeat(5000)]) }),
  'exp-string': (c, _a, now) => ({ ...c, exp: String(now + 100) }),
  'iat-string': (c) => ({ ...c, iat: 'yesterday' }),
  'exp-huge': (c, _a, _n, r) => ({ ...c, exp: r.pick([1e308, Number.MAX_SAFE_INTEGER, 2 ** 64]) }),
  'negative-times': (c) => ({ ...c, iat: -1, exp: -1 }),
  'no-exp': ({ exp: _exp, ...rest }) => rest,
  'tenant-unknown': (c, _a, _n, r) => ({ ...c, iss: TENANT_ISSUER, tenant: r.pick(['tenant-z', '', 'TENANT-A', '../tenant-a']) }),
  'tenant-object': (c, _a, _n, r) => ({ ...c, iss: TENANT_ISSUER, tenant: r.pick([{ id: 'tenant-a' }, ['tenant-a'], 1, null]) }),
  'tenant-without-tenants': (c) => ({ ...c, iss: TENANT_ISSUER }),
  'huge-claim': (c, _a, _n, r) => ({ ...c, pad: 'x'.repeat(r.pick([4000, 12_000, 60_000])) }),
};

/** Header fields that differ from a valid token's, per kind. */
const HEADERS: Partial<Record<HostileJwt, Claims>> = {
  'alg-none': { alg: 'none' },
  'alg-none-upper': { alg: 'NONE' },
  'hs384-public-pem': { alg: 'HS384' },
  'es256-label': { alg: 'ES256' },
  'rs384-with-ec-kid': { alg: 'RS384' },
  'wrong-kid': { kid: 'k2' },
  'no-kid': { kid: undefined },
  'kid-traversal': { kid: '../../../../etc/passwd' },
  'kid-object': { kid: { $ne: null } },
  'foreign-jku': { jku: 'http://127.0.0.1:9/jwks.json' },
  'crit-header': { crit: ['exp'] },
};

const SIGNERS: Partial<Record<HostileJwt, Signer>> = {
  'alg-none': 'none',
  'alg-none-upper': 'none',
  'hs384-public-pem': 'hmac-public-pem',
  'rs384-with-ec-kid': 'rsa',
  'unknown-key': 'stranger',
  'embedded-jwk': 'stranger',
  'broken-signature': 'broken',
};

function headerFor(kind: HostileJwt): Claims {
  return { alg: 'ES384', kid: 'k1', typ: 'JWT', ...HEADERS[kind] };
}

/** Token shapes that are not three base64url parts of JSON. */
const MALFORMED: Partial<Record<HostileJwt, (issuer: Issuer, aud: string, now: number, r: Random) => string>> = {
  'header-not-json': (i, aud, now) => compact(i, {}, validClaims(aud, now), 'ec', { header: b64('{"alg":"ES384",') }),
  'payload-not-json': (i) => compact(i, headerFor('payload-not-json'), {}, 'ec', { payload: b64('not json') }),
  'payload-array': (i, aud, now) => compact(i, headerFor('payload-array'), [validClaims(aud, now)], 'ec'),
  'two-parts': (i, aud, now) => compact(i, headerFor('two-parts'), validClaims(aud, now), 'ec').split('.').slice(0, 2).join('.'),
  'four-parts': (i, aud, now) => { const t = compact(i, headerFor('four-parts'), validClaims(aud, now), 'ec'); return `${t}.${t.split('.')[2] ?? ''}`; },
  'empty-parts': () => '..',
  garbage: (_i, _a, _n, r) => r.pick(['x', '...', 'null', '{}', b64(r.bytes(64)), `${b64(r.bytes(30))}.${b64(r.bytes(30))}.${b64(r.bytes(30))}`]),
  'not-base64url': (i, aud, now) => compact(i, headerFor('not-base64url'), validClaims(aud, now), 'ec').replace('.', '+/=.'),
  unicode: (i, aud, now) => `${compact(i, headerFor('unicode'), validClaims(aud, now), 'ec')}\u00e9`,
  'huge-token': (i, aud, now, r) => { const [h, , s] = compact(i, headerFor('huge-token'), validClaims(aud, now), 'ec').split('.'); return `${h ?? ''}.${b64('x'.repeat(r.pick([10_000, 20_000])))}.${s ?? ''}`; },
  'embedded-jwk': (i, aud, now, r) => compact(i, { ...headerFor('embedded-jwk'), jwk: { kty: 'EC', crv: 'P-384', x: b64(r.bytes(48)), y: b64(r.bytes(48)) } }, validClaims(aud, now), 'stranger'),
};

/** Whole Authorization values that are wrong before the token is read. */
const SCHEMES: Partial<Record<HostileJwt, (issuer: Issuer, aud: string, r: Random) => string | undefined>> = {
  missing: () => undefined,
  'empty-bearer': (_i, _a, r) => r.pick(['Bearer', 'Bearer ', 'Bearer  ', '']),
  'lowercase-scheme': (i, aud, r) => `bearer ${validToken(i, aud, r)}`,
  'basic-scheme': () => `Basic ${Buffer.from('user:pass').toString('base64')}`,
  'double-space': (i, aud, r) => `Bearer  ${validToken(i, aud, r)}`,
  'token-only': (i, aud, r) => validToken(i, aud, r),
};

/**
 * An Authorization header value (undefined: no header) for one hostile kind.
 *
 * @param aud - the audience a valid token would carry
 */
export function hostileAuthorization(issuer: Issuer, kind: HostileJwt, aud: string, r: Random): string | undefined {
  const now = Math.floor(Date.now() / 1000);
  const scheme = SCHEMES[kind];
  if (scheme !== undefined) return scheme(issuer, aud, r);
  const odd = MALFORMED[kind];
  if (odd !== undefined) return `Bearer ${odd(issuer, aud, now, r)}`;
  const claims = CLAIMS[kind]?.(validClaims(aud, now), aud, now, r) ?? validClaims(aud, now);
  return `Bearer ${compact(issuer, headerFor(kind), claims, SIGNERS[kind] ?? 'ec')}`;
}
