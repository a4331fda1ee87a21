/**
 * Process entry: config → dependencies → app → listen → graceful shutdown.
 */
import { createLogger } from './logging.js';
import { createApp, createOpsApp } from './app.js';
import { configOrExit, listen } from './process-entry.js';
import { buildDependencies, performanceLine } from './wiring.js';
import { buildViewer } from './viewer/index.js';

async function main(): Promise<void> {
  const config = configOrExit('imaging-cds');
  const log = createLogger(config.logLevel);
  if (config.unauthenticated) {
    log.warn(
      { host: config.host },
      'NO TRUSTED ISSUERS CONFIGURED: CDS calls are NOT authenticated. Listening on loopback only; set CDS_TRUSTED_ISSUERS before exposing this service.',
    );
  }
  const deps = await buildDependencies(config, log);
  const viewer = buildViewer({
    config: config.viewer,
    clockSkewSeconds: config.jwtClockSkewSeconds,
    capacity: config.resultIndexSize,
    dataDir: config.dataDir,
    services: deps.services,
    feedback: deps.feedback,
    readiness: deps.readiness,
    metrics: () => deps.metrics.registry.getMetricsAsJSON(),
    modelCards: (deps.engine?.models() ?? []).map((m) => ({ id: m.id, version: m.version, intendedUse: m.intendedUse, performance: performanceLine(m) })),
  });
  const server = await listen(createApp({ ...deps, services: viewer.services, viewer: { services: viewer.viewer, failures: viewer.failures } }), config.port, config.host, log);
  log.info({ host: config.host, port: config.port, publicBaseUrl: config.publicBaseUrl, models: deps.readiness().models }, 'listening');
  server.requestTimeout = 60_000;
  server.headersTimeout = 15_000;
  const ops = await listen(createOpsApp({ ...deps, ops: viewer.ops }), config.ops.port, config.ops.host, log);
  log.info({ host: config.ops.host, port: config.ops.port }, 'operational endpoints (/readyz, /metrics, /ops) listening');

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
