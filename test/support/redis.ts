/**
 * A real redis-server (Debian's) on a free loopback port for a test suite, and a real worker
 * process (`src/worker.ts`) that shares it. If redis-server is missing or does not start, this
 * throws with its own output: a suite that needs Redis must fail, never silently pass.
 *
 * The worker runs as its own Node process from src/ transpiled to JavaScript (TypeScript's
 * transpileModule, no type check: lint does that) under node_modules/.cache, so that its imports
 * of dependencies resolve from the repository's node_modules exactly as dist/ does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { freePort } from './free-port.js';

const OUTPUT_TAIL = 16_000;

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** SIGTERM, wait for exit, remove the temp directory. Idempotent. */
  stop(): Promise<void>;
  /** SIGTERM and wait (its append-only file stays), without removing anything. */
  halt(): Promise<void>;
  /** Starts it again on the same port from its append-only file (after {@link RedisServer.halt}). */
  resume(): Promise<void>;
}

export interface StartRedisOptions {
  /** Keep every write in an append-only file (fsync always), so a restart loses nothing. */
  readonly durable?: boolean;
}

/** A child process with its output kept, and a way to wait for a line. */
interface Child {
  readonly process: ChildProcess;
  readonly output: () => string;
  readonly exited: () => boolean;
  readonly exit: Promise<void>;
}

function track(child: ChildProcess, keep = OUTPUT_TAIL): Child {
  let output = '';
  let exited = false;
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-keep);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', (err) => {
      output += `\nspawn error: ${err.message}`;
      exited = true;
      resolve();
    });
  });
  // A jest worker that dies without stopping its children must not leave them running.
  const killOnExit = (): void => {
    if (!exited) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  void exit.then(() => process.removeListener('exit', killOnExit));
  return { process: child, output: () => output, exited: () => exited, exit };
}

async function terminate(child: Child, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exited()) return;
  child.process.kill(signal);
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => { resolve('timeout'); }, 10_000).unref());
  if ((await Promise.race([child.exit.then(() => 'exited' as const), timer])) === 'timeout') {
    child.process.kill('SIGKILL');
    await child.exit;
  }
}


/** Sends PING over a raw socket; true on +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let answer = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => { done(false); });
    socket.once('error', () => { done(false); });
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d: Buffer) => {
      answer += d.toString('latin1');
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
  });
}

function findRedis(): string {
  const candidates = [process.env['REDIS_SERVER_BIN'], '/usr/bin/redis-server', ...(process.env['PATH'] ?? '').split(path.delimiter).map((d) => path.join(d, 'redis-server'))].filter(
    (c): c is string => c !== undefined && c !== '',
  );
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new Error('redis-server is not installed (looked for $REDIS_SERVER_BIN, /usr/bin/redis-server and redis-server on PATH). Run scripts/provision-test-deps.sh.');
}

/**
 * Starts redis-server without persistence on a free loopback port and waits until it answers.
 *
 * @throws Error naming the binary or quoting redis-server's output when it cannot start
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const binary = findRedis();
  let last: Error | undefined;
  // A free port can be taken between the probe and redis-server's bind: try again.
  for (let tries = 0; tries < 4; tries++) {
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), 'redis-test-'));
    const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--dir', dir, ...(options.durable === true ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'])];
    const launch = async (): Promise<Child> => {
      const started = track(spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
      const deadline = Date.now() + 10_000;
      while (!started.exited() && Date.now() < deadline && !(await ping(port))) await new Promise((resolve) => setTimeout(resolve, 50));
      return started;
    };
    let child = await launch();
    if (!child.exited() && (await ping(port))) {
      let stopped = false;
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        async stop() {
          if (stopped) return;
          stopped = true;
          await terminate(child);
          rmSync(dir, { recursive: true, force: true });
        },
        halt: () => terminate(child),
        async resume() {
          child = await launch();
          if (child.exited() || !(await ping(port))) throw new Error(`redis-server did not start again on port ${port}.\n${child.output().slice(-OUTPUT_TAIL)}`);
        },
      };
    }
    await terminate(child);
    rmSync(dir, { recursive: true, force: true });
    last = new Error(`redis-server (${binary}) on port ${port} did not start.\n--- redis-server output ---\n${child.output().slice(-OUTPUT_TAIL)}`);
    if (!/Address already in use/i.test(child.output())) break;
  }
  throw last ?? new Error('redis-server did not start');
}

const ROOT = path.resolve('.');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : name.endsWith('.ts') && !name.endsWith('.d.ts') ? [p] : [];
  });
}

/**
 * Transpiles src/ to JavaScript in a fresh folder under node_modules/.cache and returns the path
 * of the worker's entry there.
 */
export function buildWorkerEntry(): string {
  const out = path.join(ROOT, 'node_modules', '.cache', 'imaging-cds-test', `${process.pid}-${randomBytes(4).toString('hex')}`);
  for (const file of tsFiles(path.join(ROOT, 'src'))) {
    const js = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true, esModuleInterop: true },
    }).outputText;
    const target = path.join(out, path.relative(ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, js);
  }
  // Below node_modules Node looks for no package scope of ours: say ESM here.
  writeFileSync(path.join(out, 'package.json'), '{"type":"module"}\n');
  return path.join(out, 'src', 'worker.js');
}

/** Removes what {@link buildWorkerEntry} wrote. */
export function removeWorkerBuild(entry: string): void {
  rmSync(path.resolve(path.dirname(entry), '..'), { recursive: true, force: true });
}

export interface WorkerProcess {
  /** The worker's log lines (pino JSON), parsed. */
  lines(): Record<string, unknown>[];
  /** Waits until a log line satisfies `match` (the suite's timeout bounds the wait). */
  waitFor(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** SIGKILL: the worker dies mid-job, as on a power loss or the OOM killer. */
  kill(): Promise<void>;
}

function parseLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

/**
 * Starts `node <entry>` with `env` (plus PATH and HOME) and waits for its "worker ready" line.
 *
 * @throws Error quoting the worker's output when it exits first
 */
export async function startWorkerProcess(entry: string, env: Readonly<Record<string, string>>): Promise<WorkerProcess> {
  const child = track(spawn(process.execPath, [entry], { cwd: ROOT, env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? tmpdir(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] }), Infinity);
  const lines = (): Record<string, unknown>[] => parseLines(child.output());
  const waitFor = async (match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
    for (;;) {
      const hit = lines().find(match);
      if (hit !== undefined) return hit;
      if (child.exited()) throw new Error(`the worker exited.\n--- worker output ---\n${child.output().slice(-OUTPUT_TAIL)}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  await waitFor((l) => l['msg'] === 'worker ready');
  return { lines, waitFor, stop: () => terminate(child), kill: () => terminate(child, 'SIGKILL') };
}
