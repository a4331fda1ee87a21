/**
 * Entry of the hook bench's helper processes (see children.ts): `node child.js fhir|bare`,
 * options in BENCH_CHILD_OPTIONS, commands over IPC.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Resource } from 'fhir/r4.js';
import { startFhirServer } from '../../test/support/fhir-server.js';
import type { FromChild, ToChild } from './children.js';

interface Options {
  readonly token?: string;
  readonly body?: string;
  readonly contentType?: string;
  readonly route?: string;
}

const send = (m: FromChild): void => {
  process.send?.(m);
};

async function runFhir(options: Options): Promise<void> {
  const fhir = await startFhirServer({ token: options.token });
  process.on('message', (m: ToChild) => {
    void (async () => {
      try {
        switch (m.kind) {
          case 'seed': {
            const stored = await fhir.seed(m.resources as Resource[]);
            send({ kind: 'seeded', count: stored.length });
            break;
          }
          case 'requests': {
            // Routes with the ids taken out, so that the bench can show what the service read.
            const byRoute: Record<string, number> = {};
            for (const r of fhir.requests) {
              // Ids and parameter values out, parameter names kept: `GET /fhir/ImagingStudy?_id&_include`.
              const [pathOnly = '', query = ''] = r.path.split('?');
              const names = [...new URLSearchParams(query).keys()];
              const route = `${r.method} ${pathOnly.replace(/^(\/fhir\/[A-Za-z]+)\/[^/]+/, '$1/{id}')}${names.length > 0 ? `?${names.join('&')}` : ''}`;
              byRoute[route] = (byRoute[route] ?? 0) + 1;
            }
            send({ kind: 'requests', byRoute, authorization: [...new Set(fhir.requests.map((r) => (r.authorization ?? 'none').replace(/ .*/, ' …')))] });
            fhir.requests.length = 0;
            break;
          }
          case 'stop':
            await fhir.stop();
            process.exit(0);
        }
      } catch (err) {
        send({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
      }
    })();
  });
  send({ kind: 'ready', url: fhir.baseUrl });
}

async function runBare(options: Options): Promise<void> {
  const body = Buffer.from(options.body ?? '', 'base64');
  const contentType = options.contentType ?? 'application/json';
  const app = express();
  app.disable('x-powered-by');
  // The same body parser limit as the service's default BODY_LIMIT; the request body is parsed, then answered with the recorded bytes.
  app.post(options.route ?? '/', express.json({ limit: '5mb' }), (_req, res) => {
    res.status(200).type(contentType).send(body);
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  process.on('message', (m: ToChild) => {
    if (m.kind === 'stop') server.close(() => process.exit(0));
  });
  send({ kind: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}

const role = process.argv[2];
const options = JSON.parse(process.env['BENCH_CHILD_OPTIONS'] ?? '{}') as Options;
(role === 'fhir' ? runFhir(options) : runBare(options)).catch((err: unknown) => {
  send({ kind: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
});
