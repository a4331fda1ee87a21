/**
 * The hook bench's helper processes, each forked from bench/hook/child.ts and driven over IPC:
 *
 *   fhir  the test FHIR server of test/support/fhir-server.ts (medplum's router over a memory
 *         store, bearer token required), so the service reads the ImagingStudy and Endpoint over
 *         HTTP from another process;
 *   bare  a bare express app that answers the hook's route with fixed bytes (a recorded answer
 *         of the service), the reference the service's repeated calls are compared with.
 *
 * Neither runs in the process that times the calls nor in the service's.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Messages to a child. */
export type ToChild =
  | { readonly kind: 'seed'; readonly resources: readonly object[] }
  | { readonly kind: 'requests' }
  | { readonly kind: 'stop' };

/** Messages from a child. */
export type FromChild =
  | { readonly kind: 'ready'; readonly url: string }
  | { readonly kind: 'seeded'; readonly count: number }
  | { readonly kind: 'requests'; readonly byRoute: Record<string, number>; readonly authorization: readonly string[] }
  | { readonly kind: 'error'; readonly message: string };

export interface BenchChild {
  /** The child's base URL (`…/fhir` for the FHIR server, the origin for the bare app). */
  readonly url: string;
  readonly pid: number | undefined;
  ask(message: ToChild): Promise<FromChild>;
  /** Asks the child to stop and waits for it to exit (SIGKILL after 5 s). */
  stop(): Promise<void>;
}

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'child.js');

/**
 * Forks a helper.
 *
 * @param role - `fhir` (with the bearer token it requires) or `bare` (with the answer's bytes and content type)
 */
export async function startChild(role: 'fhir' | 'bare', options: { readonly token?: string; readonly body?: string; readonly contentType?: string; readonly route?: string }): Promise<BenchChild> {
  const child: ChildProcess = fork(CHILD, [role], {
    env: {
      PATH: process.env['PATH'] ?? '',
      BENCH_CHILD_OPTIONS: JSON.stringify(options),
    },
    execArgv: ['--experimental-websocket', '--no-warnings'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const waiters: { resolve: (m: FromChild) => void; reject: (e: Error) => void }[] = [];
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code) => {
      exited = true;
      for (const w of waiters.splice(0)) w.reject(new Error(`${role} child exited (${String(code)})`));
      resolve();
    });
  });
  child.on('message', (m: FromChild) => {
    const w = waiters.shift();
    if (w === undefined) return;
    if (m.kind === 'error') w.reject(new Error(`${role} child: ${m.message}`));
    else w.resolve(m);
  });
  const next = (): Promise<FromChild> => new Promise((resolve, reject) => waiters.push({ resolve, reject }));
  const ready = await next();
  if (ready.kind !== 'ready') throw new Error(`${role} child did not start`);
  return {
    url: ready.url,
    pid: child.pid,
    ask(message) {
      const answer = next();
      child.send(message);
      return answer;
    },
    async stop() {
      if (exited) return;
      child.send({ kind: 'stop' } satisfies ToChild);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    },
  };
}
