/**
 * A real HTTP server on 127.0.0.1 that publishes JWK Sets, so remote-JWKS behaviour (caching,
 * refetch on unknown kid, rotation, timeouts) is exercised through jose's own fetch path.
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { JSONWebKeySet } from 'jose';

export interface JwksTestServer {
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  /** Publishes (or replaces) the set served at `path`. */
  publish(path: string, jwks: JSONWebKeySet): void;
  /** Makes `path` answer 500. */
  fail(path: string): void;
  /** Makes `path` accept the request and never answer. */
  hang(path: string): void;
  /** Requests received for `path` so far. */
  hits(path: string): number;
  close(): Promise<void>;
}

type Behaviour = { readonly kind: 'serve'; readonly jwks: JSONWebKeySet } | { readonly kind: 'fail' } | { readonly kind: 'hang' };

export async function startJwksServer(): Promise<JwksTestServer> {
  const routes = new Map<string, Behaviour>();
  const hitCounts = new Map<string, number>();

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    hitCounts.set(path, (hitCounts.get(path) ?? 0) + 1);
    const behaviour = routes.get(path);
    if (behaviour === undefined) {
      res.writeHead(404).end();
      return;
    }
    switch (behaviour.kind) {
      case 'serve':
        res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify(behaviour.jwks));
        return;
      case 'fail':
        res.writeHead(500).end();
        return;
      case 'hang':
        return;
    }
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    base: `http://127.0.0.1:${port}`,
    publish: (path, jwks) => routes.set(path, { kind: 'serve', jwks }),
    fail: (path) => routes.set(path, { kind: 'fail' }),
    hang: (path) => routes.set(path, { kind: 'hang' }),
    hits: (path) => hitCounts.get(path) ?? 0,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Hung requests and fetch's keep-alive sockets would otherwise keep jest alive.
        server.closeAllConnections();
        server.close((err) => {
          if (err === undefined) resolve();
          else reject(err);
        });
      }),
  };
}
