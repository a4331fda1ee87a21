/**
 * A redis-server of its own for a bench: loopback, a free port, no persistence, its working
 * folder under the bench's temporary folder. Debian's package (`scripts/provision-test-deps.sh`
 * installs it); REDIS_SERVER_BIN names another binary.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { freePort, launch, waitUntil } from './processes.js';

export interface BenchRedis {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** e.g. `7.0.15` */
  readonly version: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

function binary(): string {
  const candidates = [process.env['REDIS_SERVER_BIN'], '/usr/bin/redis-server', ...(process.env['PATH'] ?? '').split(path.delimiter).map((d) => path.join(d, 'redis-server'))];
  for (const c of candidates) {
    if (c === undefined || c === '') continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // try the next one
    }
  }
  throw new Error('redis-server not found ($REDIS_SERVER_BIN, /usr/bin, PATH): run scripts/provision-test-deps.sh (Debian package redis-server)');
}

/** True when the server answers PING with +PONG within a second. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let got = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => { finish(false); });
    socket.on('error', () => { finish(false); });
    socket.on('connect', () => { socket.write('*1\r\n$4\r\nPING\r\n'); });
    socket.on('data', (data: Buffer) => {
      got += data.toString('latin1');
      if (got.includes('\r\n')) finish(got.startsWith('+PONG'));
    });
  });
}

/** Starts redis-server in `dir` and waits until it answers. */
export async function startBenchRedis(dir: string): Promise<BenchRedis> {
  const bin = binary();
  const version = /v=([0-9.]+)/.exec(execFileSync(bin, ['--version'], { encoding: 'utf8' }))?.[1] ?? '?';
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const proc = launch('redis-server', bin, ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], { env: {}, logFile: path.join(dir, 'redis.log') });
  try {
    await waitUntil('redis-server answering PING', () => pong(port), proc, 15_000, 50);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { url: `redis://127.0.0.1:${port}`, version, pid: proc.pid, stop: () => proc.stop() };
}
