/**
 * A loopback HTTP proxy in front of a real server (Orthanc) that holds matching requests until
 * the test opens its gate: a job can be caught mid-run, deterministically, without changing the
 * code under test. Requests that do not match pass straight through.
 */
import { createServer, request as forward, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';

export interface GatedProxy {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** How many matching requests arrived (held or passed). */
  held(): number;
  /** Lets held and future matching requests through. */
  open(): void;
  /** Holds matching requests again. */
  close(): void;
  /** Stops listening and drops every connection. */
  stop(): Promise<void>;
}

/**
 * Starts the proxy.
 *
 * @param target - origin to forward to, e.g. `http://127.0.0.1:8042` (or a function read at each request, for a server started later)
 * @param matches - which requests the gate holds (e.g. WADO-RS instance retrieves)
 */
export async function startGatedProxy(target: string | (() => string), matches: (req: IncomingMessage) => boolean): Promise<GatedProxy> {
  let gateOpen = false;
  let count = 0;
  const waiting: (() => void)[] = [];
  const pass = (req: IncomingMessage, res: ServerResponse): void => {
    const upstream = new URL(typeof target === 'string' ? target : target());
    const out = forward({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  };
  const server: Server = createServer((req, res) => {
    if (!matches(req)) {
      pass(req, res);
      return;
    }
    count += 1;
    if (gateOpen) pass(req, res);
    else waiting.push(() => { pass(req, res); });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  return {
    baseUrl: `http://127.0.0.1:${address.port}`,
    held: () => count,
    open() {
      gateOpen = true;
      for (const go of waiting.splice(0)) go();
    },
    close() {
      gateOpen = false;
    },
    async stop() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
}
