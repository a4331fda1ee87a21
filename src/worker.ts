/**
 * Worker process entry (`npm run worker`): config → models → take analysis jobs from Redis until
 * SIGTERM/SIGINT. Needs REDIS_URL (the same as the fronts'). Serves /healthz, /readyz and
 * /metrics (job run times, inference) on the operational port, loopback by default.
 */
import { ConfigError } from './config.js';
import { configOrExit, listen } from './process-entry.js';
import { createLogger } from './logging.js';
import { createOpsApp } from './app.js';
import { startWorker } from './wiring.js';

async function main(): Promise<void> {
  const config = configOrExit('imaging-cds worker', (c) => {
    if (c.jobs.redis === undefined) throw new ConfigError('the worker needs REDIS_URL: the fronts queue analyses there');
  });
  const log = createLogger(config.logLevel).child({ process: 'worker' });
  const worker = await startWorker(config, log);
  const ops = createOpsApp({ readiness: worker.readiness, metrics: worker.metrics, log });
  const server = await listen(ops, config.ops.port, config.ops.host, log);
  const address = server.address();
  log.info({ models: worker.readiness().models, concurrency: config.jobs.concurrency, ops: typeof address === 'object' && address !== null ? address.port : undefined }, 'worker ready');

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'worker shutting down');
    server.close();
    // Running jobs finish; queued ones stay in Redis for the other workers.
    worker.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
    setTimeout(() => process.exit(1), 60_000).unref();
  };
  process.on('SIGTERM', () => { stop('SIGTERM'); });
  process.on('SIGINT', () => { stop('SIGINT'); });
}

main().catch((err: unknown) => {
  process.stderr.write(`imaging-cds worker: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
