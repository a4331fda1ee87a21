import { randomUUID } from 'node:crypto';

import {
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTHeaderParameters,
} from 'jose';

import {
  createClientJwtVerifier,
  type ClientJwtVerifier,
  type ClientJwtVerifierOptions,
  type TrustedIssuer,
} from '../../../src/auth/client-jwt.js';
import { createMemoryReplayCache } from '../../../src/auth/replay-cache.js';
import { startJwksServer, type JwksTestServer } from './jwks-test-server.js';

const NOW_MS = Date.UTC(2025, 5, 2, 9, 30, 0);
const NOW = NOW_MS / 1000;
const SERVICE_BASE = 'https://cds.example.org/cds-services';
const AUD = `${SERVICE_BASE}/imaging-ai`;

const ISS_REMOTE = 'https://ehr.example.org';
const ISS_INLINE = 'https://inline-ehr.example.org';
const ISS_TENANTED = 'https://multi-tenant-ehr.example.org';

interface KeyPair {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly jwk: JWK;
}

async function makeKey(alg: 'ES384' | 'RS384' | 'ES256', kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, privateKey, publicKey, jwk };
}

const jwksOf = (...keys: KeyPair[]): JSONWebKeySet => ({ keys: keys.map((k) => k.jwk) });

interface TokenSpec {
  readonly key: CryptoKey | Uint8Array;
  readonly alg?: string;
  readonly kid?: string;
  readonly header?: Record<string, unknown>;
  readonly claims?: Record<string, unknown>;
  readonly omit?: ReadonlyArray<string>;
}

const without = (record: Record<string, unknown>, names: ReadonlyArray<string>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(record).filter(([name]) => !names.includes(name)));

async function sign(spec: TokenSpec): Promise<string> {
  const omit = spec.omit ?? [];
  // A 5-minute token (the longest CDS Hooks allows) issued 5 s ago.
  const claims = without({ iss: ISS_REMOTE, aud: AUD, iat: NOW - 5, exp: NOW + 295, jti: randomUUID(), ...spec.claims }, omit);
  const header = without({ alg: spec.alg ?? 'ES384', kid: spec.kid, typ: 'JWT', ...spec.header }, omit);
  return new SignJWT(claims).setProtectedHeader(header as JWTHeaderParameters).sign(spec.key);
}

const encodeJson = (value: unknown): string => base64url.encode(JSON.stringify(value));
const bearer = (token: string): string => `Bearer ${token}`;

async function expectRejected(result: Promise<unknown>, reason: string): Promise<void> {
  await expect(result).rejects.toMatchObject({ name: 'AppError', code: 'AUTH_REJECTED', status: 401, message: reason });
}

let server: JwksTestServer;
let es1: KeyPair; // ISS_REMOTE, served from /jwks.json
let jkuKey: KeyPair; // ISS_REMOTE, served from /jku.json (reached only through the jku header)
let rs1: KeyPair; // ISS_INLINE, inline JWKS
let tenantKey: KeyPair; // ISS_TENANTED, inline JWKS
let p256: KeyPair; // ES256: a valid key of an algorithm CDS Hooks clients must not use

beforeAll(async () => {
  [es1, jkuKey, rs1, tenantKey, p256] = await Promise.all([
    makeKey('ES384', 'es-1'),
    makeKey('ES384', 'jku-1'),
    makeKey('RS384', 'rs-1'),
    makeKey('ES384', 'tenant-1'),
    makeKey('ES256', 'p256-1'),
  ]);
  server = await startJwksServer();
  server.publish('/jwks.json', jwksOf(es1, p256));
  server.publish('/jku.json', jwksOf(jkuKey));
  server.publish('/evil.json', jwksOf(es1));
});

afterAll(async () => {
  await server.close();
});

function issuers(): TrustedIssuer[] {
  return [
    { iss: ISS_REMOTE, jwksUrl: `${server.base}/jwks.json`, allowedJku: [`${server.base}/jku.json`] },
    { iss: ISS_INLINE, jwks: jwksOf(rs1) },
    { iss: ISS_TENANTED, jwks: jwksOf(tenantKey), tenants: ['hospital-a', 'hospital-b'] },
  ];
}

function makeVerifier(overrides: Partial<ClientJwtVerifierOptions> = {}): ClientJwtVerifier {
  return createClientJwtVerifier({
    trustedIssuers: issuers(),
    replayCache: createMemoryReplayCache({ now: () => NOW_MS }),
    now: () => NOW_MS,
    ...overrides,
  });
}

describe('createClientJwtVerifier: accepted tokens', () => {
  it('accepts an ES384 token verified against the issuer JWKS fetched over HTTP', async () => {
    const token = await sign({ key: es1.privateKey, kid: es1.kid, claims: { jti: 'jti-es' } });
    await expect(makeVerifier().verify(bearer(token), AUD)).resolves.toEqual({ iss: ISS_REMOTE, jti: 'jti-es', kid: 'es-1' });
  });

  it('accepts an RS384 token verified against an inline JWKS', async () => {
    const token = await sign({ key: rs1.privateKey, alg: 'RS384', kid: rs1.kid, claims: { iss: ISS_INLINE, jti: 'jti-rs' } });
    await expect(makeVerifier().verify(bearer(token), AUD)).resolves.toEqual({ iss: ISS_INLINE, jti: 'jti-rs', kid: 'rs-1' });
  });

  it('takes keys from an allow-listed jku', async () => {
    const jku = `${server.base}/jku.json`;
    const token = await sign({ key: jkuKey.privateKey, kid: jkuKey.kid, header: { jku } });
    await expect(makeVerifier().verify(bearer(token), AUD)).resolves.toMatchObject({ iss: ISS_REMOTE, kid: 'jku-1' });
  });

  it('returns the tenant when the issuer restricts tenants and the tenant is allowed', async () => {
    const token = await sign({ key: tenantKey.privateKey, kid: tenantKey.kid, claims: { iss: ISS_TENANTED, tenant: 'hospital-b' } });
    await expect(makeVerifier().verify(bearer(token), AUD)).resolves.toMatchObject({ iss: ISS_TENANTED, tenant: 'hospital-b' });
  });

  it('accepts aud as an array containing the endpoint, a lower-case scheme and no typ', async () => {
    const token = await sign({ key: es1.privateKey, kid: es1.kid, omit: ['typ'], claims: { aud: ['https://other.example.org', AUD] } });
    await expect(makeVerifier().verify(`bearer ${token}`, AUD)).resolves.toMatchObject({ iss: ISS_REMOTE });
  });

  it('tolerates clock skew: exp 30 s ago and iat 30 s ahead are accepted with 60 s skew', async () => {
    const verifier = makeVerifier();
    const expired = await sign({ key: es1.privateKey, kid: es1.kid, claims: { iat: NOW - 200, exp: NOW - 30 } });
    const early = await sign({ key: es1.privateKey, kid: es1.kid, claims: { iat: NOW + 30, exp: NOW + 300 } });
    await expect(verifier.verify(bearer(expired), AUD)).resolves.toMatchObject({ iss: ISS_REMOTE });
    await expect(verifier.verify(bearer(early), AUD)).resolves.toMatchObject({ iss: ISS_REMOTE });
  });

  it('verifies a token signed with a rotated-in key once the JWKS has been refetched', async () => {
    const [oldKey, newKey] = await Promise.all([makeKey('ES384', 'rot-old'), makeKey('ES384', 'rot-new')]);
    server.publish('/rotating.json', jwksOf(oldKey));
    const verifier = makeVerifier({
      trustedIssuers: [{ iss: ISS_REMOTE, jwksUrl: `${server.base}/rotating.json` }],
      jwksCooldownMs: 0,
    });

    await expect(verifier.verify(bearer(await sign({ key: oldKey.privateKey, kid: oldKey.kid })), AUD)).resolves.toMatchObject({ kid: 'rot-old' });
    expect(server.hits('/rotating.json')).toBe(1);

    server.publish('/rotating.json', jwksOf(newKey));
    await expect(verifier.verify(bearer(await sign({ key: newKey.privateKey, kid: newKey.kid })), AUD)).resolves.toMatchObject({ kid: 'rot-new' });
    expect(server.hits('/rotating.json')).toBe(2);

    // The retired key is gone from the set, so its tokens now fail.
    await expectRejected(verifier.verify(bearer(await sign({ key: oldKey.privateKey, kid: oldKey.kid })), AUD), 'no key matches kid');
  });
});

describe('createClientJwtVerifier: forbidden algorithms', () => {
  it('rejects alg "none" before any key lookup', async () => {
    server.publish('/none-probe.json', jwksOf(es1));
    const verifier = makeVerifier({ trustedIssuers: [{ iss: ISS_REMOTE, jwksUrl: `${server.base}/none-probe.json` }] });
    const claims = { iss: ISS_REMOTE, aud: AUD, iat: NOW, exp: NOW + 300, jti: randomUUID() };
    const unsigned = `${encodeJson({ alg: 'none', kid: es1.kid, typ: 'JWT' })}.${encodeJson(claims)}.`;

    await expectRejected(verifier.verify(bearer(unsigned), AUD), 'alg not allowed');
    expect(server.hits('/none-probe.json')).toBe(0);
  });

  it('rejects HS256 signed with the RSA public key as the HMAC secret (key confusion)', async () => {
    const publicKeyBytes = new TextEncoder().encode(await exportSPKI(rs1.publicKey));
    const forged = await sign({ key: publicKeyBytes, alg: 'HS256', kid: rs1.kid, claims: { iss: ISS_INLINE } });
    await expectRejected(makeVerifier().verify(bearer(forged), AUD), 'alg not allowed');
  });

  it('rejects HS384 signed with the JWK JSON of the EC public key', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(es1.jwk));
    const forged = await sign({ key: secret, alg: 'HS384', kid: es1.kid });
    await expectRejected(makeVerifier().verify(bearer(forged), AUD), 'alg not allowed');
  });

  it('rejects ES256 even when the key is in the issuer JWKS', async () => {
    const token = await sign({ key: p256.privateKey, alg: 'ES256', kid: p256.kid });
    await expectRejected(makeVerifier().verify(bearer(token), AUD), 'alg not allowed');
  });
});

describe('createClientJwtVerifier: claims', () => {
  const cases: ReadonlyArray<[string, Partial<TokenSpec>, string]> = [
    ['an expired token (exp beyond the skew)', { claims: { iat: NOW - 200, exp: NOW - 61 } }, 'token expired'],
    ['iat in the future beyond the skew', { claims: { iat: NOW + 120, exp: NOW + 400 } }, 'iat is in the future'],
    ['iat older than max age + skew, even with a valid exp', { claims: { iat: NOW - 361, exp: NOW + 100 } }, 'token too old (iat)'],
    ['aud of another service', { claims: { aud: 'https://other.example.org/cds-services/imaging-ai' } }, 'unexpected aud claim'],
    ['aud of a different endpoint of this service', { claims: { aud: `${SERVICE_BASE}/other-service` } }, 'unexpected aud claim'],
    ['aud of this service’s feedback endpoint', { claims: { aud: `${AUD}/feedback` } }, 'unexpected aud claim'],
    ['aud of the discovery endpoint', { claims: { aud: SERVICE_BASE } }, 'unexpected aud claim'],
    ['an iss that is not trusted', { claims: { iss: 'https://evil.example.org' } }, 'unknown iss'],
    ['a missing iss', { omit: ['iss'] }, 'missing iss claim'],
    ['a missing aud', { omit: ['aud'] }, 'missing aud claim'],
    ['a missing jti', { omit: ['jti'] }, 'missing jti claim'],
    ['a missing exp', { omit: ['exp'] }, 'missing exp claim'],
    ['a missing iat', { omit: ['iat'] }, 'missing iat claim'],
    ['a non-string jti', { claims: { jti: 42 } }, 'invalid jti claim'],
    ['an over-long jti', { claims: { jti: 'x'.repeat(257) } }, 'invalid jti claim'],
    ['a missing kid', { omit: ['kid'] }, 'missing kid'],
    ['a typ other than JWT', { header: { typ: 'at+jwt' } }, 'typ is not JWT'],
    ['an unknown kid', { kid: 'not-published' }, 'no key matches kid'],
  ];

  it.each(cases)('rejects %s', async (_name, spec, reason) => {
    const token = await sign({ key: es1.privateKey, kid: es1.kid, ...spec });
    await expectRejected(makeVerifier().verify(bearer(token), AUD), reason);
  });

  it('rejects a token of one trusted issuer signed with another trusted issuer’s key', async () => {
    const token = await sign({ key: es1.privateKey, kid: es1.kid, claims: { iss: ISS_INLINE } });
    await expectRejected(makeVerifier().verify(bearer(token), AUD), 'no key matches kid');
  });

  it('rejects a tampered payload whose signature no longer matches', async () => {
    const token = await sign({ key: es1.privateKey, kid: es1.kid });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload))) as Record<string, unknown>;
    const tampered = `${header}.${encodeJson({ ...claims, tenant: 'hospital-a', admin: true })}.${signature}`;
    await expectRejected(makeVerifier().verify(bearer(tampered), AUD), 'bad signature');
  });

  it('rejects a tenant the issuer does not allow, and a missing tenant', async () => {
    const verifier = makeVerifier();
    const other = await sign({ key: tenantKey.privateKey, kid: tenantKey.kid, claims: { iss: ISS_TENANTED, tenant: 'hospital-z' } });
    const none = await sign({ key: tenantKey.privateKey, kid: tenantKey.kid, claims: { iss: ISS_TENANTED } });
    await expectRejected(verifier.verify(bearer(other), AUD), 'tenant not allowed');
    await expectRejected(verifier.verify(bearer(none), AUD), 'tenant not allowed');
  });
});

describe('createClientJwtVerifier: jku', () => {
  it('rejects a jku that is not on the issuer allow-list without fetching it', async () => {
    const token = await sign({ key: es1.privateKey, kid: es1.kid, header: { jku: `${server.base}/evil.json` } });
    await expectRejected(makeVerifier().verify(bearer(token), AUD), 'jku not allowed for this issuer');
    expect(server.hits('/evil.json')).toBe(0);
  });

  it('rejects an allow-listed jku presented for another issuer', async () => {
    const token = await sign({ key: jkuKey.privateKey, kid: jkuKey.kid, header: { jku: `${server.base}/jku.json` }, claims: { iss: ISS_INLINE } });
    await expectRejected(makeVerifier().verify(bearer(token), AUD), 'jku not allowed for this issuer');
  });

  it('rejects a jku with userinfo that would resolve to an allowed URL', async () => {
    const jku = `${server.base}/jku.json`.replace('http://', 'http://user@');
    const token = await sign({ key: jkuKey.privateKey, kid: jkuKey.kid, header: { jku } });
    await expectRejected(makeVerifier().verify(bearer(token), AUD), 'jku not allowed for this issuer');
  });
});

describe('createClientJwtVerifier: replay', () => {
  it('accepts a jti once and rejects its second use', async () => {
    const verifier = makeVerifier();
    const token = await sign({ key: es1.privateKey, kid: es1.kid });
    await expect(verifier.verify(bearer(token), AUD)).resolves.toMatchObject({ iss: ISS_REMOTE });
    await expectRejected(verifier.verify(bearer(token), AUD), 'jti replayed');
  });

  it('does not let a forged token use up a legitimate jti', async () => {
    const verifier = makeVerifier();
    const genuine = await sign({ key: es1.privateKey, kid: es1.kid, claims: { jti: 'shared-jti' } });
    const forged = await sign({ key: jkuKey.privateKey, kid: es1.kid, claims: { jti: 'shared-jti' } });
    await expectRejected(verifier.verify(bearer(forged), AUD), 'bad signature');
    await expect(verifier.verify(bearer(genuine), AUD)).resolves.toMatchObject({ jti: 'shared-jti' });
  });

  it('remembers a jti until the token could no longer be accepted', async () => {
    let nowMs = NOW_MS;
    const clock = (): number => nowMs;
    // A long lifetime allowed, so that max age (not exp) is what ends the token.
    const verifier = makeVerifier({ now: clock, replayCache: createMemoryReplayCache({ now: clock }), maxLifetimeSeconds: 3600 });
    const token = await sign({ key: es1.privateKey, kid: es1.kid, claims: { iat: NOW, exp: NOW + 3600 } });
    await verifier.verify(bearer(token), AUD);
    // 300 s max age + 60 s skew: just inside, the replay is caught; just outside, the token is too old.
    nowMs = NOW_MS + 360_000;
    await expectRejected(verifier.verify(bearer(token), AUD), 'jti replayed');
    nowMs = NOW_MS + 361_000;
    await expectRejected(verifier.verify(bearer(token), AUD), 'token too old (iat)');
  });
});

describe('createClientJwtVerifier: malformed input', () => {
  const cases: ReadonlyArray<[string, string | undefined, string]> = [
    ['no header', undefined, 'missing Authorization header'],
    ['an empty header', '', 'missing Authorization header'],
    ['a Basic credential', 'Basic dXNlcjpwYXNz', 'Authorization is not a Bearer token'],
    ['a bare token without the Bearer prefix', 'eyJhbGciOiJFUzM4NCJ9.e30.c2ln', 'Authorization is not a Bearer token'],
    ['"Bearer" alone', 'Bearer ', 'Authorization is not a Bearer token'],
    ['two tokens', 'Bearer a.b.c d.e.f', 'Authorization is not a Bearer token'],
    ['a token with two segments', 'Bearer abc.def', 'malformed token'],
    ['a token with invalid characters', 'Bearer ab+c.de/f.gh=', 'malformed token'],
    ['garbage segments', 'Bearer abc.def.ghi', 'malformed token'],
    ['a header that is not a JSON object', `Bearer ${base64url.encode('[1]')}.${base64url.encode('{}')}.c2ln`, 'malformed token'],
    ['a payload that is not JSON', `Bearer ${base64url.encode('{"alg":"ES384","kid":"es-1"}')}.${base64url.encode('nope')}.c2ln`, 'malformed token'],
    ['an oversized token', `Bearer ${'a'.repeat(5000)}.${'b'.repeat(5000)}.c2ln`, 'token too long'],
  ];

  it.each(cases)('rejects %s', async (_name, header, reason) => {
    await expectRejected(makeVerifier().verify(header, AUD), reason);
  });

  it('never puts the token or its parts in the rejection message', async () => {
    const verifier = makeVerifier();
    const tokens = await Promise.all([
      sign({ key: es1.privateKey, kid: es1.kid, claims: { aud: 'https://other.example.org' } }),
      sign({ key: es1.privateKey, kid: es1.kid, claims: { exp: NOW - 1000 } }),
      sign({ key: es1.privateKey, kid: 'missing-kid' }),
    ]);
    for (const token of tokens) {
      const error = (await verifier.verify(bearer(token), AUD).catch((err: unknown) => err)) as Error;
      for (const part of token.split('.')) expect(error.message).not.toContain(part);
    }
  });
});

describe('createClientJwtVerifier: JWKS availability', () => {
  it('rejects when the JWKS endpoint answers an error, keeping the cause for operators', async () => {
    server.fail('/broken.json');
    const verifier = makeVerifier({ trustedIssuers: [{ iss: ISS_REMOTE, jwksUrl: `${server.base}/broken.json` }] });
    const token = await sign({ key: es1.privateKey, kid: es1.kid });
    const error = await verifier.verify(bearer(token), AUD).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'AUTH_REJECTED', message: 'JWKS unavailable' });
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it('rejects when the JWKS endpoint does not answer within fetchTimeoutMs', async () => {
    server.hang('/slow.json');
    const verifier = makeVerifier({ trustedIssuers: [{ iss: ISS_REMOTE, jwksUrl: `${server.base}/slow.json` }], fetchTimeoutMs: 200 });
    const token = await sign({ key: es1.privateKey, kid: es1.kid });
    await expectRejected(verifier.verify(bearer(token), AUD), 'JWKS fetch timed out');
  });

  it('does not refetch the JWKS for unknown kids within the cooldown', async () => {
    server.publish('/cooldown.json', jwksOf(es1));
    const verifier = makeVerifier({ trustedIssuers: [{ iss: ISS_REMOTE, jwksUrl: `${server.base}/cooldown.json` }] });
    for (const kid of ['made-up-1', 'made-up-2', 'made-up-3']) {
      await expectRejected(verifier.verify(bearer(await sign({ key: es1.privateKey, kid })), AUD), 'no key matches kid');
    }
    expect(server.hits('/cooldown.json')).toBe(1);
  });
});

describe('createClientJwtVerifier: configuration', () => {
  const replayCache = createMemoryReplayCache();
  const jwks = { keys: [] };

  it.each<[string, TrustedIssuer[]]>([
    ['an issuer listed twice', [{ iss: ISS_INLINE, jwks }, { iss: ISS_INLINE, jwks }]],
    ['both jwksUrl and jwks', [{ iss: ISS_INLINE, jwks, jwksUrl: 'https://ehr.example.org/jwks' }]],
    ['no key source', [{ iss: ISS_INLINE }]],
    ['a non-http JWKS URL', [{ iss: ISS_INLINE, jwksUrl: 'file:///etc/keys.json' }]],
    ['an empty iss', [{ iss: '', jwks }]],
  ])('refuses %s at start-up', (_name, trustedIssuers) => {
    expect(() => createClientJwtVerifier({ trustedIssuers, replayCache })).toThrow(TypeError);
  });
});
