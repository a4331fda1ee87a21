/**
 * The servers the auth benchmark compares, each run in its own child process so that the load
 * generator and the orchestrator never share its event loop or CPU accounting:
 * - `bare`: an express app answering `GET /cds-services` with fixed bytes (the service's own
 *   discovery answer), nothing else;
 * - `service-open`: the service's express app (`buildDependencies` + `createApp`, as `src/main.ts`
 *   builds it), without trusted issuers (development mode: no authentication);
 * - `service-auth`: the same with trusted issuers, so every call is verified by the real
 *   verifier against a configured JWK Set file.
 * The child reports, between two marks, its CPU time (all threads: the main thread and libuv's
 * pool, where WebCrypto verifies signatures), the CPU of its main thread alone (Linux), and its
 * answers by status.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

import express from 'express';

import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logging.js';
import { buildDependencies } from '../../src/wiring.js';

export type ServerRole = 'bare' | 'service-open' | 'service-auth';
export const SERVER_ROLES: readonly ServerRole[] = ['bare', 'service-open', 'service-auth'];

/** What a server child measured between a `mark` and a `report`. */
export interface ServerStats {
  /** User + system CPU of the whole process, microseconds. */
  readonly cpuUs: number;
  /** CPU of the main thread (event loop) alone, microseconds; undefined without Linux /proc. */
  readonly mainThreadCpuUs: number | undefined;
  /** Wall time the event loop was not idle, milliseconds (includes time it waited for a core). */
  readonly loopBusyMs: number;
  readonly wallMs: number;
  /** Answers by HTTP status. */
  readonly statuses: Readonly<Record<string, number>>;
  readonly threads: number | undefined;
}

export type ToServer = { readonly kind: 'mark' } | { readonly kind: 'report' } | { readonly kind: 'stop' };
export type FromServer =
  | { readonly kind: 'ready'; readonly port: number }
  | { readonly kind: 'marked' }
  | { readonly kind: 'report'; readonly stats: ServerStats };

/** Environment the orchestrator passes to a server child. */
export interface ServerEnv {
  /** The discovery answer's bytes (for `bare`). */
  readonly BENCH_DISCOVERY_FILE?: string;
  /** `CDS_TRUSTED_ISSUERS` (for `service-auth`). */
  readonly BENCH_TRUSTED_ISSUERS?: string;
  readonly BENCH_DATA_DIR?: string;
  readonly BENCH_PUBLIC_BASE_URL?: string;
  readonly BENCH_MODELS?: string;
}

function bareApp(): express.Express {
  const file = process.env.BENCH_DISCOVERY_FILE;
  if (file === undefined) throw new Error('bare server needs BENCH_DISCOVERY_FILE');
  const body = readFileSync(file);
  const app = express();
  app.disable('x-powered-by');
  app.get('/cds-services', (_req, res) => {
    res.type('application/json').send(body);
  });
  return app;
}

async function serviceApp(authenticated: boolean): Promise<express.Express> {
  const env = process.env;
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    PUBLIC_BASE_URL: env.BENCH_PUBLIC_BASE_URL,
    DATA_DIR: env.BENCH_DATA_DIR,
    MODELS: env.BENCH_MODELS,
    LOG_LEVEL: env.LOG_LEVEL ?? 'info',
    ...(authenticated ? { CDS_TRUSTED_ISSUERS: env.BENCH_TRUSTED_ISSUERS } : {}),
  });
  // As src/main.ts: pino to stdout (the orchestrator points the child's stdout at /dev/null).
  const deps = await buildDependencies(config, createLogger(config.logLevel));
  return createApp(deps);
}

const TICK_US = 10_000; // Linux USER_HZ is 100 on every architecture Node runs on.

/** CPU of this process's main thread from /proc (Linux), microseconds; 10 ms resolution. */
function mainThreadCpuUs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // Fields after the parenthesised name: state is field 3, utime 14 and stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_US;
  } catch {
    return undefined;
  }
}

/** Threads of this process (main, libuv pool, V8 platform workers), for the report. */
function threadCount(): number | undefined {
  try {
    return readdirSync('/proc/self/task').length;
  } catch {
    return undefined;
  }
}

function send(message: FromServer): void {
  process.send?.(message);
}

/** Runs one server role until the orchestrator says stop. */
export async function runServer(role: ServerRole): Promise<void> {
  const app = role === 'bare' ? bareApp() : await serviceApp(role === 'service-auth');
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));

  let statuses: Record<string, number> = {};
  server.on('request', (_req, res) => {
    res.once('finish', () => {
      const key = String(res.statusCode);
      statuses[key] = (statuses[key] ?? 0) + 1;
    });
  });
  let cpu = process.cpuUsage();
  let mainCpu = mainThreadCpuUs();
  let elu: EventLoopUtilization = performance.eventLoopUtilization();
  let startedAt = performance.now();

  process.on('message', (message: ToServer) => {
    switch (message.kind) {
      case 'mark':
        statuses = {};
        cpu = process.cpuUsage();
        mainCpu = mainThreadCpuUs();
        elu = performance.eventLoopUtilization();
        startedAt = performance.now();
        send({ kind: 'marked' });
        return;
      case 'report': {
        const used = process.cpuUsage(cpu);
        const loop = performance.eventLoopUtilization(elu);
        const mainNow = mainThreadCpuUs();
        const mainThread = mainNow === undefined || mainCpu === undefined ? undefined : mainNow - mainCpu;
        send({ kind: 'report', stats: { cpuUs: used.user + used.system, mainThreadCpuUs: mainThread, loopBusyMs: loop.active, wallMs: performance.now() - startedAt, statuses, threads: threadCount() } });
        return;
      }
      case 'stop':
        server.closeAllConnections();
        server.close(() => process.exit(0));
        return;
    }
  });
  send({ kind: 'ready', port: (server.address() as AddressInfo).port });
}
