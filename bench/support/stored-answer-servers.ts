/**
 * The two reference servers of the stored-answers bench, each run in its own process (forked by
 * the bench with `server:bare` or `server:bare-jwt`), listening on loopback:
 * - `bare`: an express app answering `POST <path>` with fixed bytes (the service's stored answer,
 *   sent as the same string the service sends), after parsing the JSON body with express.json as
 *   the service does; the Authorization header is ignored;
 * - `bare-jwt`: the same, but first verifying the request's ES384 client JWT with jose as the
 *   service's verifier does (local JWK Set from the same file, allowed algorithm, issuer, exact
 *   audience, max token age, required exp/iat/jti), and answering 401 when it fails. It keeps no
 *   replay cache and no rate limit: it is the cost of the signature and claims check alone.
 * The child sends `{ port }` over IPC once it listens, and exits on `stop`.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

import express, { type RequestHandler } from 'express';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';

export type BareRole = 'bare' | 'bare-jwt';
export const BARE_ROLES: readonly BareRole[] = ['bare', 'bare-jwt'];

/** Environment the bench passes to a reference server. */
export interface BareEnv {
  /** The stored answer's bytes, UTF-8. */
  readonly BENCH_ANSWER_FILE: string;
  /** The path answered, e.g. `/cds-services/imaging-ai-result`. */
  readonly BENCH_PATH: string;
  /** For `bare-jwt`: the JWK Set file, the issuers (JSON array) and the audience. */
  readonly BENCH_JWKS_FILE?: string;
  readonly BENCH_ISSUERS?: string;
  readonly BENCH_AUDIENCE?: string;
}

function need(name: keyof BareEnv): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`reference server needs ${name}`);
  return value;
}

/** jose's verification with the options the service's verifier gives it (src/auth/client-jwt.ts). */
function verifyJwt(): RequestHandler {
  const keys = createLocalJWKSet(JSON.parse(readFileSync(need('BENCH_JWKS_FILE'), 'utf8')) as JSONWebKeySet);
  const issuers = JSON.parse(need('BENCH_ISSUERS')) as string[];
  const audience = need('BENCH_AUDIENCE');
  return (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    jwtVerify(token, keys, { algorithms: ['ES384'], issuer: issuers, audience, clockTolerance: 60, maxTokenAge: 300, requiredClaims: ['exp', 'iat', 'jti'] }).then(
      () => { next(); },
      () => { res.status(401).json({ error: 'invalid token' }); },
    );
  };
}

/** Runs a reference server until the bench says stop. */
export async function runBareServer(role: BareRole): Promise<void> {
  const answer = readFileSync(need('BENCH_ANSWER_FILE'), 'utf8');
  const app = express();
  app.disable('x-powered-by');
  const handlers: RequestHandler[] = role === 'bare-jwt' ? [verifyJwt()] : [];
  handlers.push(express.json({ limit: '5mb', strict: true, type: ['application/json', 'application/*+json'] }));
  app.post(need('BENCH_PATH'), ...handlers, (_req, res) => {
    res.type('application/json').send(answer);
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  process.on('message', (message: { kind?: string }) => {
    if (message.kind !== 'stop') return;
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
  process.send?.({ kind: 'ready', port: (server.address() as AddressInfo).port });
}
