/**
 * Child processes of a bench, each one stopped however the bench ends: normally (its own
 * `stop`), on an error (the caller's `finally`, or {@link stopAll} for any still starting), on
 * SIGINT/SIGTERM ({@link onInterrupt}) and, as a last resort, SIGKILL from the `exit` handler for
 * any child still running.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

/** A loopback port that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => { resolve(); });
  });
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => { resolve(); }));
  return port;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface Launched {
  readonly name: string;
  readonly pid: number | undefined;
  exited(): boolean;
  /** The last few KiB the process wrote (stdout and stderr together), for error messages. */
  tail(): string;
  /** SIGTERM, then SIGKILL when it has not exited after `graceMs`; resolves once it has exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

export interface LaunchOptions {
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Everything the process writes is appended here too. */
  readonly logFile?: string;
  /** Called with each complete line of its stdout. */
  readonly onLine?: (line: string) => void;
}

const TAIL_CHARS = 8000;
const running = new Set<{ readonly name: string; kill(): void; stop(graceMs: number): Promise<void> }>();

process.on('exit', () => {
  for (const child of running) child.kill();
});

/** Stops every process still running whose name `which` accepts (SIGTERM, SIGKILL after `graceMs`), all at once. */
export async function stopAll(which: (name: string) => boolean = () => true, graceMs = 10_000): Promise<void> {
  await Promise.all([...running].filter((child) => which(child.name)).map((child) => child.stop(graceMs)));
}

/**
 * Starts `command args` with exactly `options.env` (plus PATH and HOME) and keeps track of it.
 */
export function launch(name: string, command: string, args: readonly string[], options: LaunchOptions): Launched {
  const child = spawn(command, [...args], {
    cwd: options.cwd,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = options.logFile === undefined ? undefined : createWriteStream(options.logFile, { flags: 'a' });
  let tail = '';
  let partial = '';
  let hasExited = false;
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_CHARS);
    log?.write(chunk);
  };
  child.stdout.on('data', (chunk: Buffer) => {
    keep(chunk);
    if (options.onLine === undefined) return;
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) options.onLine(line);
  });
  child.stderr.on('data', keep);
  const handle = { name, kill: () => { child.kill('SIGKILL'); }, stop: (graceMs: number) => stop(graceMs) };
  const exit = new Promise<void>((resolve) => {
    const done = (): void => {
      hasExited = true;
      running.delete(handle);
      log?.end();
      resolve();
    };
    child.once('exit', done);
    child.once('error', (err) => {
      tail += `\n${name}: could not start: ${err.message}`;
      done();
    });
  });
  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 15_000): Promise<void> => {
    stopping ??= (async () => {
      if (hasExited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    })();
    return stopping;
  };
  running.add(handle);
  return { name, pid: child.pid, exited: () => hasExited, tail: () => tail, stop };
}

/**
 * Polls `probe` every `everyMs` until it returns true; throws with `what` and the process's output
 * when the process exits first or `timeoutMs` passes.
 */
export async function waitUntil(what: string, probe: () => Promise<boolean> | boolean, proc: Launched | undefined, timeoutMs = 120_000, everyMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (proc?.exited() === true) throw new Error(`${what}: ${proc.name} exited first. Its output:\n${proc.tail()}`);
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s${proc === undefined ? '' : `. Output of ${proc.name}:\n${proc.tail()}`}`);
    await sleep(everyMs);
  }
}

/**
 * Runs `cleanup` once on SIGINT or SIGTERM, then exits 130 (or 143). Returns a function that
 * removes the handlers (call it when the bench has cleaned up by itself).
 */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  const handler = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\n${signal}: stopping every process this bench started…\n`);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.removeListener('SIGINT', handler);
    process.removeListener('SIGTERM', handler);
  };
}
