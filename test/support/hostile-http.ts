/**
 * Loopback HTTP servers that misbehave the way an allow-listed but hostile (or broken) FHIR
 * server or PACS can: redirect elsewhere, stream an endless body, dribble bytes. Each records
 * what it received and what it wrote, so tests can prove a client stopped reading and never
 * contacted a redirect's target (a "canary" server).
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the server saw it. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
  readonly headers: IncomingHttpHeaders;
}

/** A running loopback server. */
export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** Every request received, in order. */
  readonly requests: SeenRequest[];
  /** Closes every connection, hanging ones included, and stops listening. */
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

/**
 * Starts a server on 127.0.0.1 at a free port.
 *
 * @param handler - answers each request; `n` counts requests from 1
 */
export async function startTestServer(handler: Handler): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, headers: req.headers });
    handler(req, res, requests.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** What an endless or dribbling body did: bytes handed to the socket, and whether the client hung up. */
export interface BodyTally {
  written: number;
  /** True once the connection closed before the server ended the body. */
  clientClosed: boolean;
}

/**
 * Writes `chunk` again and again, as fast as the client reads, until `limit` bytes or the client
 * closes the connection. The caller has already written the status line and headers.
 */
export function pumpEndless(res: ServerResponse, chunk: Buffer, tally: BodyTally, limit = 1024 * 1024 * 1024): void {
  res.on('close', () => {
    if (!res.writableFinished) tally.clientClosed = true;
  });
  const pump = (): void => {
    while (!res.destroyed && tally.written < limit && res.write(chunk)) tally.written += chunk.length;
    if (res.destroyed) return;
    if (tally.written >= limit) res.end();
    else res.once('drain', pump);
  };
  pump();
}

/** Writes `text` one byte every `everyMs` until the client hangs up (the body never ends). */
export function dribble(res: ServerResponse, text: string, tally: BodyTally, everyMs = 20): void {
  let i = 0;
  const timer = setInterval(() => {
    if (res.destroyed) return;
    res.write(text[i % text.length] ?? ' ');
    tally.written += 1;
    i += 1;
  }, everyMs);
  res.on('close', () => {
    clearInterval(timer);
    if (!res.writableFinished) tally.clientClosed = true;
  });
}

/** A fresh tally. */
export function tally(): BodyTally {
  return { written: 0, clientClosed: false };
}

/** Resolves once `predicate` holds, polling every 10 ms, or rejects after `ms`. */
export async function eventually(predicate: () => boolean, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * For a test file: a canary server started once (the place a refused redirect points to), and
 * servers started per test, all closed after each test with the canary's log cleared.
 *
 * @param canaryHandler - how the canary answers, were it ever contacted
 * @returns the canary, and a function starting a server closed after the current test
 */
export function hostileServers(canaryHandler: Handler): { readonly canary: () => TestServer; readonly server: (handler: Handler) => Promise<TestServer> } {
  let canary: TestServer | undefined;
  let servers: TestServer[] = [];
  beforeAll(async () => {
    canary = await startTestServer(canaryHandler);
  });
  afterAll(async () => {
    await canary?.close();
  });
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
    if (canary !== undefined) canary.requests.length = 0;
  });
  return {
    canary: () => {
      if (canary === undefined) throw new Error('canary not started');
      return canary;
    },
    server: async (handler) => {
      const started = await startTestServer(handler);
      servers.push(started);
      return started;
    },
  };
}
