/**
 * The viewer's access to a launch issuer's authorization server, against real loopback servers
 * that behave and misbehave: discovery and JWK Set read once and kept, a made-up key id refused
 * without a new request, and every bad answer — a redirect (never followed), an endless or
 * oversized body, a slow answer, something not JSON, a discovery document naming another issuer,
 * a JWK Set off the allow-list or malformed — refused as SMART_AUTH_SERVER_UNAVAILABLE.
 */
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { createOriginAllowList } from '../../src/auth/index.js';
import { createAuthServers, type AuthServers } from '../../src/viewer/auth-servers.js';
import { dribble, eventually, hostileServers, pumpEndless, tally, type TestServer } from '../support/hostile-http.js';

const FHIR = 'https://ehr.example.org/fhir';
const { canary, server } = hostileServers((_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end('{}'); });

async function keyPair(kid: string): Promise<{ jwk: JWK; sign: () => Promise<string> }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { jwk, sign: () => new SignJWT({ patient: 'p1' }).setProtectedHeader({ alg: 'RS256', kid }).setIssuedAt().setExpirationTime('5m').sign(privateKey) };
}

/** A server whose discovery names it and whose JWK Set answer `jwks` decides. */
async function authServer(jwks: Parameters<typeof server>[0], discovery?: (origin: string) => object): Promise<TestServer> {
  let origin = '';
  const started = await server((req, res, n) => {
    if (req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(discovery?.(origin) ?? { issuer: origin, authorization_endpoint: `${origin}/auth`, token_endpoint: `${origin}/token`, jwks_uri: `${origin}/jwks` }));
      return;
    }
    jwks(req, res, n);
  });
  origin = started.origin;
  return started;
}

function serversFor(as: TestServer, limits: { timeoutMs?: number; maxBytes?: number; allow?: string[] } = {}): { servers: AuthServers; launch: Parameters<AuthServers['keys']>[0] } {
  const launch = { iss: FHIR, authorizationServer: as.origin, clientId: 'viewer', patientClaim: 'patient' };
  const servers = createAuthServers([launch], { allowList: createOriginAllowList(limits.allow ?? [as.origin]), timeoutMs: limits.timeoutMs ?? 2000, maxBytes: limits.maxBytes ?? 64 * 1024 });
  return { servers, launch };
}

/** Resolves the key for a token through the servers' key set. */
async function keyFor(servers: AuthServers, launch: Parameters<AuthServers['keys']>[0], token: string): Promise<unknown> {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  return servers.keys(launch)(JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as never, { payload, signature, protected: header });
}

const jwksRequests = (as: TestServer): number => as.requests.filter((r) => r.url === '/jwks').length;
const unavailable = { code: 'SMART_AUTH_SERVER_UNAVAILABLE' };

describe('the authorization server behind a SMART launch', () => {
  it('reads discovery and the JWK Set once, and refuses a made-up key id without asking again', async () => {
    const good = await keyPair('k1');
    const as = await authServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [good.jwk] })); });
    const { servers, launch } = serversFor(as);
    await expect(keyFor(servers, launch, await good.sign())).resolves.toBeDefined();
    await expect(keyFor(servers, launch, await good.sign())).resolves.toBeDefined();
    const other = await keyPair('made-up');
    await expect(keyFor(servers, launch, await other.sign())).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect([as.requests.filter((r) => r.url === '/.well-known/openid-configuration').length, jwksRequests(as)]).toEqual([1, 1]);
  });

  it('never follows a redirect of the JWK Set', async () => {
    const as = await authServer((_req, res) => { res.writeHead(302, { location: `${canary().origin}/jwks` }).end(); });
    const { servers, launch } = serversFor(as, { allow: [] });
    const { servers: allowing } = serversFor(as);
    await expect(keyFor(allowing, launch, await (await keyPair('k1')).sign())).rejects.toMatchObject(unavailable);
    expect(canary().requests).toEqual([]);
    // Off the allow-list, not even discovery is asked for.
    await expect(servers.metadata(launch)).rejects.toMatchObject(unavailable);
    expect(as.requests).toHaveLength(2);
  });

  it('stops reading an endless or oversized JWK Set at the byte cap', async () => {
    const body = tally();
    const endless = await authServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.write('{"keys":['); pumpEndless(res, Buffer.alloc(16 * 1024, 0x20), body); });
    const a = serversFor(endless, { maxBytes: 64 * 1024 });
    await expect(keyFor(a.servers, a.launch, await (await keyPair('k1')).sign())).rejects.toMatchObject(unavailable);
    await eventually(() => body.clientClosed);
    expect(body.written).toBeLessThan(1024 * 1024);
    const declared = await authServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) }).write('{'); });
    const b = serversFor(declared, { maxBytes: 64 * 1024 });
    await expect(keyFor(b.servers, b.launch, await (await keyPair('k1')).sign())).rejects.toMatchObject(unavailable);
  });

  it('gives up on a slow answer, and refuses one that is not JSON or not a JWK Set', async () => {
    const slow = await authServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); dribble(res, '{"keys":[', tally(), 50); });
    const a = serversFor(slow, { timeoutMs: 300 });
    await expect(keyFor(a.servers, a.launch, await (await keyPair('k1')).sign())).rejects.toMatchObject(unavailable);
    const html = await authServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }).end('<html>'); });
    const b = serversFor(html);
    await expect(keyFor(b.servers, b.launch, await (await keyPair('k1')).sign())).rejects.toMatchObject(unavailable);
    const malformed = await authServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":"none"}'); });
    const c = serversFor(malformed);
    await expect(keyFor(c.servers, c.launch, await (await keyPair('k1')).sign())).rejects.toMatchObject(unavailable);
  });

  it('refuses a discovery document that names another issuer, or a JWK Set off the allow-list', async () => {
    const impostor = await authServer(() => undefined, () => ({ issuer: 'https://elsewhere.example.org', authorization_endpoint: 'https://elsewhere.example.org/a', token_endpoint: 'https://elsewhere.example.org/t', jwks_uri: 'https://elsewhere.example.org/j' }));
    const a = serversFor(impostor);
    await expect(a.servers.metadata(a.launch)).rejects.toMatchObject(unavailable);
    const pointing = await authServer(() => undefined, (origin) => ({ issuer: origin, authorization_endpoint: `${origin}/a`, token_endpoint: `${origin}/t`, jwks_uri: `${canary().origin}/jwks` }));
    const b = serversFor(pointing);
    await expect(keyFor(b.servers, b.launch, await (await keyPair('k1')).sign())).rejects.toMatchObject(unavailable);
    expect(canary().requests).toEqual([]);
  });
});
