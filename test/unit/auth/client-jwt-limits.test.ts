/**
 * The verifier's limits on valid tokens: lifetime, per-issuer rate limit, per-issuer replay-cache
 * share, the warnings they log, and the cost side (keys imported once).
 */
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';

import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';

import { createClientJwtVerifier, type ClientJwtVerifierOptions } from '../../../src/auth/client-jwt.js';
import { createMemoryReplayCache } from '../../../src/auth/replay-cache.js';
import { createLogger } from '../../../src/logging.js';
import { startJwksServer } from './jwks-test-server.js';

const NOW_MS = Date.UTC(2025, 5, 2, 9, 30, 0);
const NOW = NOW_MS / 1000;
const AUD = 'https://cds.example.org/cds-services/imaging-ai';
const ISS_A = 'https://ehr-a.example.org';
const ISS_B = 'https://ehr-b.example.org';

interface KeyPair {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function makeKey(kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' } };
}

const jwksOf = (...keys: KeyPair[]): JSONWebKeySet => ({ keys: keys.map((k) => k.jwk) });

async function sign(key: KeyPair, iss: string, claims: Record<string, unknown> = {}): Promise<string> {
  const token = await new SignJWT({ iss, aud: AUD, iat: NOW - 5, exp: NOW + 295, jti: randomUUID(), ...claims })
    .setProtectedHeader({ alg: 'ES384', kid: key.kid, typ: 'JWT' })
    .sign(key.privateKey);
  return `Bearer ${token}`;
}

let keyA: KeyPair;
let keyB: KeyPair;
let stranger: KeyPair; // not in any issuer's set: signs forgeries

beforeAll(async () => {
  [keyA, keyB, stranger] = await Promise.all([makeKey('a-1'), makeKey('b-1'), makeKey('a-1')]);
});

/** A verifier over two inline issuers with a movable clock. */
function setup(overrides: Partial<ClientJwtVerifierOptions> = {}, maxEntriesPerIssuer?: number) {
  let nowMs = NOW_MS;
  const clock = (): number => nowMs;
  const lines: Record<string, unknown>[] = [];
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  const verifier = createClientJwtVerifier({
    trustedIssuers: [
      { iss: ISS_A, jwks: jwksOf(keyA) },
      { iss: ISS_B, jwks: jwksOf(keyB) },
    ],
    replayCache: createMemoryReplayCache({ now: clock, ...(maxEntriesPerIssuer === undefined ? {} : { maxEntriesPerIssuer }) }),
    now: clock,
    log: createLogger('warn', sink),
    ...overrides,
  });
  return {
    verifier,
    lines,
    advance: (ms: number): void => {
      nowMs += ms;
    },
  };
}

const outcome = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => 'accepted', (err: unknown) => err);

describe('createClientJwtVerifier: token lifetime', () => {
  it('rejects a token whose exp is a year after its iat', async () => {
    const { verifier } = setup();
    const header = await sign(keyA, ISS_A, { iat: NOW - 5, exp: NOW + 365 * 86_400 });
    await expect(verifier.verify(header, AUD)).rejects.toMatchObject({ code: 'AUTH_REJECTED', status: 401, message: 'token lifetime (exp - iat) over 300 s' });
  });

  it('accepts a lifetime of exactly 5 minutes and rejects one second more', async () => {
    const { verifier } = setup();
    await expect(verifier.verify(await sign(keyA, ISS_A, { iat: NOW, exp: NOW + 300 }), AUD)).resolves.toMatchObject({ iss: ISS_A });
    await expect(verifier.verify(await sign(keyA, ISS_A, { iat: NOW, exp: NOW + 301 }), AUD)).rejects.toMatchObject({ message: 'token lifetime (exp - iat) over 300 s' });
  });

  it('applies a configured maxLifetimeSeconds', async () => {
    const { verifier } = setup({ maxLifetimeSeconds: 60 });
    await expect(verifier.verify(await sign(keyA, ISS_A, { iat: NOW, exp: NOW + 61 }), AUD)).rejects.toMatchObject({ message: 'token lifetime (exp - iat) over 60 s' });
  });

  it('refuses a lifetime limit that is not positive at start-up', () => {
    expect(() => setup({ maxLifetimeSeconds: 0 })).toThrow(TypeError);
  });
});

describe('createClientJwtVerifier: per-issuer rate limit', () => {
  it('answers 429 with Retry-After to an issuer over its rate, and keeps serving other issuers', async () => {
    const { verifier } = setup({ issuerRatePerSecond: 1, issuerBurst: 2 });
    await verifier.verify(await sign(keyA, ISS_A), AUD);
    await verifier.verify(await sign(keyA, ISS_A), AUD);
    await expect(verifier.verify(await sign(keyA, ISS_A), AUD)).rejects.toMatchObject({ code: 'RATE_LIMITED', status: 429, retryAfterSeconds: 1 });
    await expect(verifier.verify(await sign(keyB, ISS_B), AUD)).resolves.toMatchObject({ iss: ISS_B });
  });

  it('lets the issuer in again once its bucket has refilled', async () => {
    const { verifier, advance } = setup({ issuerRatePerSecond: 1, issuerBurst: 1 });
    await verifier.verify(await sign(keyA, ISS_A), AUD);
    await expect(verifier.verify(await sign(keyA, ISS_A), AUD)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    advance(1000);
    await expect(verifier.verify(await sign(keyA, ISS_A), AUD)).resolves.toMatchObject({ iss: ISS_A });
  });

  it('does not let forged tokens spend a real issuer’s budget', async () => {
    const { verifier } = setup({ issuerRatePerSecond: 1, issuerBurst: 1 });
    for (let i = 0; i < 5; i += 1) {
      await expect(verifier.verify(await sign(stranger, ISS_A), AUD)).rejects.toMatchObject({ code: 'AUTH_REJECTED', message: 'bad signature' });
    }
    await expect(verifier.verify(await sign(keyA, ISS_A), AUD)).resolves.toMatchObject({ iss: ISS_A });
  });

  it('does not let replays of a captured token spend the issuer’s budget', async () => {
    const { verifier } = setup({ issuerRatePerSecond: 1, issuerBurst: 2 });
    const captured = await sign(keyA, ISS_A);
    await verifier.verify(captured, AUD);
    for (let i = 0; i < 5; i += 1) {
      await expect(verifier.verify(captured, AUD)).rejects.toMatchObject({ code: 'AUTH_REJECTED', message: 'jti replayed' });
    }
    await expect(verifier.verify(await sign(keyA, ISS_A), AUD)).resolves.toMatchObject({ iss: ISS_A });
  });

  it('logs the refusals of one issuer once per interval, counting the ones in between', async () => {
    const { verifier, lines, advance } = setup({ issuerRatePerSecond: 0.001, issuerBurst: 1, limitLogIntervalMs: 60_000 });
    await verifier.verify(await sign(keyA, ISS_A), AUD);
    for (let i = 0; i < 4; i += 1) await outcome(verifier.verify(await sign(keyA, ISS_A), AUD));
    advance(60_000);
    await outcome(verifier.verify(await sign(keyA, ISS_A), AUD));
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, code: 'RATE_LIMITED', clientIss: ISS_A, refusedSinceLastLine: 0 }),
      expect.objectContaining({ level: 40, code: 'RATE_LIMITED', clientIss: ISS_A, refusedSinceLastLine: 3 }),
    ]);
  });
});

describe('createClientJwtVerifier: per-issuer replay-cache share', () => {
  it('answers 503 REPLAY_CACHE_FULL with Retry-After to the issuer whose share is full, never a 401', async () => {
    const { verifier } = setup({}, 3);
    for (let i = 0; i < 3; i += 1) await verifier.verify(await sign(keyA, ISS_A), AUD);
    const error = await outcome(verifier.verify(await sign(keyA, ISS_A), AUD));
    expect(error).toMatchObject({ name: 'AppError', code: 'REPLAY_CACHE_FULL', status: 503 });
    // The entries were remembered at NOW for 295 s + 60 s skew + 1 s.
    expect((error as { retryAfterSeconds: number }).retryAfterSeconds).toBe(356);
  });

  it('keeps accepting another issuer while a flooding issuer’s share is full', async () => {
    const { verifier } = setup({}, 3);
    const flood = await Promise.all(Array.from({ length: 20 }, async () => outcome(verifier.verify(await sign(keyA, ISS_A), AUD))));
    expect(flood.filter((r) => r === 'accepted')).toHaveLength(3);
    const refusals = flood.filter((r) => r !== 'accepted').map((err) => (err as { code?: string }).code);
    expect(refusals).toEqual(new Array<string>(17).fill('REPLAY_CACHE_FULL'));
    for (let i = 0; i < 3; i += 1) await expect(verifier.verify(await sign(keyB, ISS_B), AUD)).resolves.toMatchObject({ iss: ISS_B });
  });

  it('accepts the issuer again once its entries expire', async () => {
    const { verifier, advance } = setup({}, 1);
    await verifier.verify(await sign(keyA, ISS_A), AUD);
    await expect(verifier.verify(await sign(keyA, ISS_A), AUD)).rejects.toMatchObject({ code: 'REPLAY_CACHE_FULL' });
    advance(356_000);
    const fresh = await sign(keyA, ISS_A, { iat: NOW + 350, exp: NOW + 600 });
    await expect(verifier.verify(fresh, AUD)).resolves.toMatchObject({ iss: ISS_A });
  });

  it('logs a full share once per issuer per interval', async () => {
    const { verifier, lines } = setup({}, 1);
    await verifier.verify(await sign(keyA, ISS_A), AUD);
    await verifier.verify(await sign(keyB, ISS_B), AUD);
    for (let i = 0; i < 3; i += 1) {
      await outcome(verifier.verify(await sign(keyA, ISS_A), AUD));
      await outcome(verifier.verify(await sign(keyB, ISS_B), AUD));
    }
    expect(lines.map((l) => [l.code, l.clientIss])).toEqual([
      ['REPLAY_CACHE_FULL', ISS_A],
      ['REPLAY_CACHE_FULL', ISS_B],
    ]);
  });
});

describe('createClientJwtVerifier: key import', () => {
  /** Counts WebCrypto key imports (jose imports JWKs through crypto.subtle.importKey). */
  async function countImports(run: () => Promise<void>): Promise<number> {
    const subtle = globalThis.crypto.subtle;
    const original = Reflect.get(subtle, 'importKey') as (...args: unknown[]) => unknown;
    let imports = 0;
    function counting(...args: unknown[]): unknown {
      imports += 1;
      const key: unknown = Reflect.apply(original, subtle, args);
      return key;
    }
    Object.defineProperty(subtle, 'importKey', { value: counting, configurable: true, writable: true });
    try {
      await run();
    } finally {
      Object.defineProperty(subtle, 'importKey', { value: original, configurable: true, writable: true });
    }
    return imports;
  }

  it('imports an inline issuer key once, however many tokens it verifies', async () => {
    const tokens = await Promise.all(Array.from({ length: 5 }, () => sign(keyA, ISS_A)));
    const { verifier } = setup();
    const imports = await countImports(async () => {
      for (const token of tokens) await verifier.verify(token, AUD);
    });
    expect(imports).toBe(1);
  });

  it('imports a fetched key once per fetch of its set', async () => {
    const server = await startJwksServer();
    try {
      server.publish('/jwks.json', jwksOf(keyA));
      const tokens = await Promise.all(Array.from({ length: 5 }, () => sign(keyA, ISS_A)));
      const { verifier } = setup({ trustedIssuers: [{ iss: ISS_A, jwksUrl: `${server.base}/jwks.json` }] });
      const imports = await countImports(async () => {
        for (const token of tokens) await verifier.verify(token, AUD);
      });
      expect(imports).toBe(1);
      expect(server.hits('/jwks.json')).toBe(1);
    } finally {
      await server.close();
    }
  });
});
