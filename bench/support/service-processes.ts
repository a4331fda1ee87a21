/**
 * The service's two kinds of process as deployed, built JavaScript from dist/ (so `npm run build`
 * first), configured only by environment:
 *   front   `node dist/src/main.js`   ready when its /readyz answers 200 (a worker has registered)
 *   worker  `node dist/src/worker.js` ready when it logs "worker ready"; every "analysis job
 *           done" / "analysis job failed" line it logs is reported as it arrives
 * Each gets its own PORT and OPS_PORT on loopback and writes its log to a file.
 * (A retried run logs "started" again under the same key; "will be retried" is no end.)
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PROJECT_ROOT } from '../../src/config.js';
import { freePort, launch, waitUntil, type Launched } from './processes.js';

export interface Front {
  /** `http://127.0.0.1:<PORT>` */
  readonly url: string;
  /** `http://127.0.0.1:<OPS_PORT>` (/readyz, /metrics) */
  readonly opsUrl: string;
  readonly proc: Launched;
}

export interface Worker {
  readonly opsUrl: string;
  readonly proc: Launched;
}

/** A job's start or end as a worker logged it (key = the BullMQ job id), with the moment its line reached the bench. */
export interface JobEvent {
  readonly kind: 'started' | 'done' | 'failed';
  readonly key: string;
  readonly at: number;
  readonly worker: string;
}

const entry = (file: string): string => path.join(PROJECT_ROOT, 'dist', 'src', file);

async function answers200(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Starts a front with `env` (REDIS_URL etc.); resolves once its /readyz answers 200. */
export async function startFront(name: string, env: Readonly<Record<string, string>>, logFile: string): Promise<Front> {
  const [port, opsPort] = [await freePort(), await freePort()];
  const proc = launch(name, process.execPath, [entry('main.js')], {
    cwd: PROJECT_ROOT,
    env: { ...env, PORT: String(port), HOST: '127.0.0.1', OPS_PORT: String(opsPort), OPS_HOST: '127.0.0.1' },
    logFile,
  });
  const opsUrl = `http://127.0.0.1:${opsPort}`;
  try {
    await waitUntil(`${name} /readyz 200`, () => answers200(`${opsUrl}/readyz`), proc, 120_000, 50);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, opsUrl, proc };
}

/** Starts a worker with `env`; resolves once it logs "worker ready". */
export async function startWorker(name: string, env: Readonly<Record<string, string>>, logFile: string, onJob: (event: JobEvent) => void): Promise<Worker> {
  const opsPort = await freePort();
  let ready = false;
  const proc = launch(name, process.execPath, [entry('worker.js')], {
    cwd: PROJECT_ROOT,
    env: { ...env, OPS_PORT: String(opsPort), OPS_HOST: '127.0.0.1' },
    logFile,
    onLine(line) {
      if (!line.startsWith('{')) return;
      const at = performance.now();
      let record: { msg?: unknown; job?: unknown };
      try {
        record = JSON.parse(line) as { msg?: unknown; job?: unknown };
      } catch {
        return;
      }
      const key = typeof record.job === 'string' ? record.job : '';
      if (record.msg === 'worker ready') ready = true;
      else if (record.msg === 'analysis job started') onJob({ kind: 'started', key, at, worker: name });
      else if (record.msg === 'analysis job done') onJob({ kind: 'done', key, at, worker: name });
      else if (record.msg === 'analysis job failed') onJob({ kind: 'failed', key, at, worker: name });
    },
  });
  try {
    await waitUntil(`${name} "worker ready"`, () => ready, proc, 180_000, 25);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { opsUrl: `http://127.0.0.1:${opsPort}`, proc };
}

/** The Prometheus text of a process's /metrics ('' when it does not answer). */
export async function scrape(opsUrl: string): Promise<string> {
  try {
    const res = await fetch(`${opsUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
    return res.ok ? await res.text() : '';
  } catch {
    return '';
  }
}

/** Sum of the samples of `name` (exact metric name) whose label set contains `labels`. */
export function metricSum(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    const metric = brace >= 0 && brace < space ? line.slice(0, brace) : line.slice(0, space);
    if (metric !== name || !line.includes(labels)) continue;
    const value = Number(line.slice(space + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}
