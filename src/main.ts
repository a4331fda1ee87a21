/**
 * Process entry: config → dependencies → app → listen → graceful shutdown.
 */
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logging.js';
import type { Server } from 'node:http';
import { createApp, createOpsApp } from './app.js';
import type { Logger } from './logging.js';
import { buildDependencies } from './wiring.js';

/**
 * Listens, or fails with the reason (port in use, no permission): a service that cannot
 * listen must not look as if it started.
 */
function listen(app: ReturnType<typeof createApp>, port: number, host: string, log: Logger): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('listening', () => { resolve(server); });
    server.once('error', (err: NodeJS.ErrnoException) => {
      log.fatal({ host, port, code: err.code }, 'cannot listen');
      reject(new Error(`cannot listen on ${host}:${port}: ${err.code ?? err.message}`));
    });
  });
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`imaging-cds: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  if (config.unauthenticated) {
    log.warn(
      { host: config.host },
      'NO TRUSTED ISSUERS CONFIGURED: CDS calls are NOT authenticated. Listening on loopback only; set CDS_TRUSTED_ISSUERS before exposing this service.',
    );
  }
  const deps = await buildDependencies(config, log);
  const server = await listen(createApp(deps), config.port, config.host, log);
  log.info({ host: config.host, port: config.port, publicBaseUrl: config.publicBaseUrl, models: deps.readiness().models }, 'listening');
  server.requestTimeout = 60_000;
  server.headersTimeout = 15_000;
  const ops = await listen(createOpsApp(deps), config.ops.port, config.ops.host, log);
  log.info({ host: config.ops.host, port: config.ops.port }, 'operational endpoints (/readyz, /metrics) listening');

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // Stop accepting, let in-flight calls finish, then release models and stores.
    ops.close();
    server.close(() => {
      deps.close().then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, 'error during shutdown');
          process.exit(1);
        },
      );
    });
    setTimeout(() => process.exit(1), 15_000).unref();
  };
  process.on('SIGTERM', () => { stop('SIGTERM'); });
  process.on('SIGINT', () => { stop('SIGINT'); });
}

main().catch((err: unknown) => {
  process.stderr.write(`imaging-cds: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
