/**
 * What both process entries (main.ts, the service; worker.ts, the analysis worker) do the same
 * way: read the configuration or stop with a message, and listen or fail with the reason.
 */
import type { Server } from 'node:http';
import { type Config, ConfigError, loadConfig } from './config.js';
import type { Logger } from './logging.js';

/**
 * The configuration from the environment; on a ConfigError prints `<name>: <message>` and
 * exits 2 (a start-up the operator must fix, not a crash).
 *
 * @param name - the process's name in the message, e.g. `imaging-cds worker`
 * @param check - a further requirement of this process (throw ConfigError)
 */
export function configOrExit(name: string, check: (config: Config) => void = () => undefined): Config {
  try {
    const config = loadConfig(process.env);
    check(config);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${name}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/**
 * Listens, or fails with the reason (port in use, no permission): a process that cannot listen
 * must not look as if it started.
 */
export function listen(app: { listen(port: number, host: string): Server }, port: number, host: string, log: Logger): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('listening', () => { resolve(server); });
    server.once('error', (err: NodeJS.ErrnoException) => {
      log.fatal({ host, port, code: err.code }, 'cannot listen');
      reject(new Error(`cannot listen on ${host}:${port}: ${err.code ?? err.message}`));
    });
  });
}
