/**
 * Where the time of one client-JWT verification goes, phase by phase, and what the replay cache
 * costs in memory. Runs in its own child process (started with --expose-gc) before the HTTP
 * rounds. Each phase runs alone, in sequence (one operation at a time), on fresh ES384 tokens:
 * `wall` is its latency, `cpu` the CPU it used on every thread (WebCrypto verifies on libuv's
 * thread pool, so a signature check costs CPU off the main thread).
 */
import { randomUUID, verify as nodeVerify, createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { base64url, createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';

import { createClientJwtVerifier, createMemoryReplayCache, createTokenBucketLimiter, replayEntriesPerIssuer } from '../../src/auth/index.js';
import { createBenchKeys, DISCOVERY_AUD, signTokens } from './bench-tokens.js';

const N = Number(process.env.BENCH_PROFILE_N ?? 2000);

interface Phase {
  readonly name: string;
  readonly wallUs: number;
  readonly cpuUs: number;
}

async function time(name: string, tokens: readonly string[], op: (token: string, i: number) => unknown): Promise<Phase> {
  // Warm-up on the first tenth, timing on the rest.
  const warm = Math.floor(tokens.length / 10);
  for (let i = 0; i < warm; i += 1) await op(tokens[i] ?? '', i);
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  for (let i = warm; i < tokens.length; i += 1) await op(tokens[i] ?? '', i);
  const wallUs = ((performance.now() - t0) * 1000) / (tokens.length - warm);
  const used = process.cpuUsage(cpu);
  return { name, wallUs, cpuUs: (used.user + used.system) / (tokens.length - warm) };
}

function signingInput(token: string): { data: Uint8Array; signature: Uint8Array } {
  const dot = token.lastIndexOf('.');
  return { data: new TextEncoder().encode(token.slice(0, dot)), signature: base64url.decode(token.slice(dot + 1)) };
}

async function phases(): Promise<Phase[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'auth-profile-'));
  try {
    const keys = await createBenchKeys(dir, 1);
    const iss = keys.issuers[0] ?? '';
    const jwks = { keys: [keys.publicJwk] };
    const keySet = createLocalJWKSet(jwks);
    const tokens = await signTokens(keys, N);
    const parts = tokens.map(signingInput);
    const header = decodeProtectedHeader(tokens[0] ?? '');
    const cryptoKey = await keySet(header);
    const keyObject = createPublicKey({ key: keys.publicJwk as JWK & { kty: string }, format: 'jwk' });
    const options = { algorithms: ['ES384'], issuer: iss, audience: DISCOVERY_AUD, maxTokenAge: 300, requiredClaims: ['exp', 'iat', 'jti'] };
    const cache = createMemoryReplayCache();
    const limiter = createTokenBucketLimiter({ ratePerSecond: 1e9, burst: 1e9 });
    const verifier = createClientJwtVerifier({ trustedIssuers: [{ iss, jwks }], replayCache: createMemoryReplayCache(), issuerRatePerSecond: 1e9, issuerBurst: 1e9 });
    const ecdsa = { name: 'ECDSA', hash: 'SHA-384' };
    return [
      await time('parse: Bearer, decode header + claims (unverified)', tokens, (t) => {
        /^Bearer +(\S+)\s*$/i.exec(`Bearer ${t}`);
        decodeProtectedHeader(t);
        return decodeJwt(t);
      }),
      await time('key lookup: cached CryptoKey by kid + alg', tokens, () => keySet(header)),
      await time('signature: WebCrypto ECDSA P-384 verify (thread pool)', tokens, async (_t, i) => {
        const { data, signature } = parts[i] ?? { data: new Uint8Array(), signature: new Uint8Array() };
        if (!(await crypto.subtle.verify(ecdsa, cryptoKey, signature, data))) throw new Error('bad signature');
      }),
      await time('  same, node:crypto verify (sync, OpenSSL floor)', tokens, (_t, i) => {
        const { data, signature } = parts[i] ?? { data: new Uint8Array(), signature: new Uint8Array() };
        if (!nodeVerify('sha384', data, { key: keyObject, dsaEncoding: 'ieee-p1363' }, signature)) throw new Error('bad signature');
      }),
      await time('jose jwtVerify: decode + key + signature + claims', tokens, (t) => jwtVerify(t, keySet, options)),
      await time('replay cache: checkAndRemember', tokens, () => cache.checkAndRemember(iss, randomUUID(), Date.now() + 361_000)),
      await time('rate limit: take', tokens, () => limiter.take(iss)),
      await time('verifier.verify: all of it', tokens, (t) => verifier.verify(`Bearer ${t}`, DISCOVERY_AUD)),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fills one issuer's share to its default capacity and measures the heap it takes. */
async function replayCacheMemory(): Promise<string> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return 'replay cache memory: not measured (needs node --expose-gc)';
  const entries = replayEntriesPerIssuer();
  const now = Date.now();
  const cache = createMemoryReplayCache({ now: () => now });
  gc();
  const before = process.memoryUsage();
  const t0 = performance.now();
  for (let i = 0; i < entries; i += 1) {
    // A jti as the verifier holds it: its own string, parsed from the token's JSON.
    const jti = JSON.parse(`"${randomUUID()}"`) as string;
    // Expiries spread over the 421 s window, as under steady load.
    const verdict = await cache.checkAndRemember('https://ehr.example.org', jti, now + 421_000 - (i % 421) * 1000);
    if (verdict.status !== 'fresh') throw new Error(`entry ${i}: ${verdict.status}`);
  }
  const insertUs = ((performance.now() - t0) * 1000) / entries;
  gc();
  const after = process.memoryUsage();
  // Keep the cache reachable until after the measurement.
  if (cache.size !== entries) throw new Error(`the share holds ${cache.size} entries`);
  const heap = after.heapUsed - before.heapUsed;
  const rss = after.rss - before.rss;
  return (
    `replay cache memory: one issuer's default share (${entries.toLocaleString('en')} UUID jtis) holds ${(heap / 2 ** 20).toFixed(1)} MiB of heap ` +
    `(${(heap / entries).toFixed(0)} bytes per entry), RSS +${(rss / 2 ** 20).toFixed(0)} MiB; ${insertUs.toFixed(2)} µs per insert`
  );
}

/** Prints the phase table and the memory line. */
export async function runProfile(): Promise<void> {
  const rows = await phases();
  const total = rows.find((r) => r.name.startsWith('verifier.verify'))?.cpuUs ?? NaN;
  const lines = [`one ES384 verification, phase by phase (${N} fresh tokens, one at a time; cpu = all threads):`, `  ${'phase'.padEnd(56)} ${'wall µs'.padStart(8)} ${'cpu µs'.padStart(8)}  cpu share of verify`];
  for (const r of rows) lines.push(`  ${r.name.padEnd(56)} ${r.wallUs.toFixed(1).padStart(8)} ${r.cpuUs.toFixed(1).padStart(8)}  ${((100 * r.cpuUs) / total).toFixed(1).padStart(5)} %`);
  lines.push(await replayCacheMemory());
  process.stdout.write(`${lines.join('\n')}\n`);
  // The orchestrator bounds B's throughput with it.
  const floor = rows.find((r) => r.name.includes('OpenSSL floor'))?.cpuUs;
  if (floor !== undefined) process.send?.({ kind: 'signature-floor', cpuUs: floor });
}
