/**
 * A persistent Python worker (bench/inference/worker.py) and a way to ask it something: one JSON
 * object a line on its stdin, one answer a line on its stdout, one request at a time. Started
 * once, before any timing, so interpreter start-up and imports are never measured.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

export type Backend = 'ort' | 'torch';

/** What every answer carries; the rest depends on the request. */
export interface WorkerAnswer {
  readonly ok: boolean;
  readonly error?: string;
  /** The model cannot be rebuilt faithfully (torch backend); `error` says why. */
  readonly refused?: boolean;
  readonly trace?: string;
  readonly [key: string]: unknown;
}

export interface PyWorker {
  readonly backend: Backend;
  readonly python: string;
  /** Sends one request and waits for its answer (requests never overlap). */
  ask(request: Record<string, unknown>): Promise<WorkerAnswer>;
  /** Closes stdin and waits for the process to exit. */
  stop(): Promise<void>;
}

/**
 * Starts `python worker.py --backend … --threads …` and waits for its `hello` answer.
 *
 * @throws Error with the worker's stderr when it cannot start (missing module, bad python)
 */
export async function startPyWorker(python: string, script: string, backend: Backend, threads: number): Promise<{ worker: PyWorker; versions: Record<string, unknown> }> {
  // One thread for the numerical libraries too, so that neither side gets more threads than asked.
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), PYTHONDONTWRITEBYTECODE: '1' };
  const child: ChildProcessWithoutNullStreams = spawn(python, [script, '--backend', backend, '--threads', String(threads)], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-8000);
  });
  const lines = createInterface({ input: child.stdout });
  const waiting: { resolve: (a: WorkerAnswer) => void; reject: (e: Error) => void }[] = [];
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('close', (code) => {
      exited = true;
      for (const w of waiting.splice(0)) w.reject(new Error(`${python} (${backend} worker) exited with ${String(code)}:\n${stderr}`));
      resolve();
    });
  });
  child.once('error', (err) => {
    exited = true;
    for (const w of waiting.splice(0)) w.reject(new Error(`${python} could not be started: ${err.message}`));
  });
  lines.on('line', (line) => {
    const w = waiting.shift();
    if (w === undefined) return;
    try {
      w.resolve(JSON.parse(line) as WorkerAnswer);
    } catch {
      w.reject(new Error(`${backend} worker wrote a line that is not JSON: ${line.slice(0, 300)}`));
    }
  });
  let queue: Promise<unknown> = Promise.resolve();
  const ask = (request: Record<string, unknown>): Promise<WorkerAnswer> => {
    const next = queue.then(
      () =>
        new Promise<WorkerAnswer>((resolve, reject) => {
          if (exited) {
            reject(new Error(`${backend} worker is not running:\n${stderr}`));
            return;
          }
          waiting.push({ resolve, reject });
          child.stdin.write(`${JSON.stringify(request)}\n`);
        }),
    );
    queue = next.catch(() => undefined);
    return next;
  };
  const worker: PyWorker = {
    backend,
    python,
    ask,
    async stop() {
      if (!exited) child.stdin.end();
      await exit;
    },
  };
  const hello = await ask({ op: 'hello' });
  if (!hello.ok) throw new Error(`${backend} worker: ${hello.error ?? 'hello failed'}`);
  return { worker, versions: hello['versions'] as Record<string, unknown> };
}
