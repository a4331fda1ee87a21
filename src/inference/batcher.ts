/**
 * Dynamic micro-batching with back-pressure and deadlines, independent of onnxruntime (the
 * batch runner is injected), so its timing rules are tested with a fake runner.
 *
 * Rules:
 * - One batch runs at a time per batcher (per model). ORT already spreads one run over the
 *   intra-op threads, so parallel runs would only contend; and requests that arrive while a
 *   batch runs are exactly what forms the next, larger batch.
 * - A batch starts when `maxBatch` items wait, when the oldest has waited `maxWaitMs`, or at
 *   once when the previous batch finishes (its waiters already waited one whole run).
 * - At most `capacity` items wait (running ones excluded); a submit that does not fit is
 *   refused whole with INFERENCE_BUSY, never half-queued.
 * - Every item has a deadline `timeoutMs` after submit covering queue wait and run; past it the
 *   caller gets INFERENCE_FAILED. onnxruntime-node runs a session synchronously inside
 *   setImmediate, so a timer cannot fire during a run; the deadline is therefore also checked
 *   when the batch returns, which keeps the rule the same whether or not the run blocked.
 *   A timed-out run is not cancelled (ORT's node binding cannot), its result is dropped.
 */
import { performance } from 'node:perf_hooks';
import { AppError } from '../errors.js';

/** One batch as observed, for metrics and tests. */
export interface BatchEvent {
  /** Items in the batch. */
  readonly size: number;
  /** Wall time of the runner call. */
  readonly ms: number;
  readonly ok: boolean;
}

export interface BatcherOptions<I, O> {
  /** Names the batcher in error messages (the model id). */
  readonly name: string;
  /** Largest batch handed to `run`; 1 turns batching off. */
  readonly maxBatch: number;
  /** Longest an item waits for companions before a partial batch starts. */
  readonly maxWaitMs: number;
  /** Most items that may wait (not counting the running batch). */
  readonly capacity: number;
  /** Deadline per item from submit to result. */
  readonly timeoutMs: number;
  /** Runs one batch; must return one output per item, in order. */
  readonly run: (items: readonly I[]) => Promise<readonly O[]>;
  readonly onBatch?: ((event: BatchEvent) => void) | undefined;
}

/** Queue in front of one model. */
export interface Batcher<I, O> {
  /**
   * Queues items and resolves with their outputs in order.
   * @throws AppError INFERENCE_BUSY when they do not fit, INFERENCE_FAILED on a failed or late
   *   run, MODEL_UNAVAILABLE once closed
   */
  submit(items: readonly I[]): Promise<O[]>;
  /** Items waiting now (for metrics). */
  queued(): number;
  /** Refuses new work, fails waiting items, and waits for the running batch. */
  close(): Promise<void>;
}

interface Entry<I, O> {
  readonly item: I;
  readonly enqueuedAt: number;
  readonly deadline: number;
  state: 'queued' | 'running' | 'done';
  timer: NodeJS.Timeout | undefined;
  resolve: (value: O) => void;
  reject: (err: unknown) => void;
}

function checkOptions(o: BatcherOptions<unknown, unknown>): void {
  const ints: [string, number, number][] = [['maxBatch', o.maxBatch, 1], ['capacity', o.capacity, 1]];
  for (const [name, v, min] of ints) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${v}`);
  }
  if (!(o.maxWaitMs >= 0)) throw new RangeError(`maxWaitMs must be ≥ 0, got ${o.maxWaitMs}`);
  if (!(o.timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${o.timeoutMs}`);
}

function settle<I, O>(entry: Entry<I, O>, outcome: { value: O } | { error: unknown }): void {
  if (entry.state === 'done') return;
  entry.state = 'done';
  if (entry.timer !== undefined) clearTimeout(entry.timer);
  if ('value' in outcome) entry.resolve(outcome.value);
  else entry.reject(outcome.error);
}

/** Hands each item its output, or the timeout error when the batch returned past its deadline. */
function settleBatch<I, O>(batch: readonly Entry<I, O>[], outputs: readonly O[], now: number, name: string, timeoutError: () => AppError): void {
  if (outputs.length !== batch.length) {
    const err = new AppError('INFERENCE_FAILED', `Model ${name}: the runner returned ${outputs.length} outputs for ${batch.length} inputs.`);
    for (const e of batch) settle(e, { error: err });
    return;
  }
  batch.forEach((e, i) => {
    settle(e, now > e.deadline ? { error: timeoutError() } : { value: outputs[i] as O });
  });
}

/**
 * Calls `start` after `delayMs` (clamped at 0). Even with no delay the start is deferred, so
 * calls made in the same tick share a batch; setImmediate then, as setTimeout(0) is clamped to 1 ms.
 */
function deferStart(delayMs: number, start: () => void): { cancel: () => void } {
  if (delayMs <= 0) {
    const handle = setImmediate(start);
    return { cancel: () => { clearImmediate(handle); } };
  }
  const handle = setTimeout(start, delayMs);
  return { cancel: () => { clearTimeout(handle); } };
}

/** Queues one item with its deadline timer; the promise settles with its output or error. */
function enqueue<I, O>(queue: Entry<I, O>[], item: I, timeoutMs: number, onTimeout: (entry: Entry<I, O>) => void): Promise<O> {
  const now = performance.now();
  return new Promise<O>((resolve, reject) => {
    const entry: Entry<I, O> = { item, enqueuedAt: now, deadline: now + timeoutMs, state: 'queued', timer: undefined, resolve, reject };
    entry.timer = setTimeout(() => {
      onTimeout(entry);
    }, timeoutMs);
    queue.push(entry);
  });
}

/** Observation must never break inference: a throwing metrics callback is ignored. */
function safeObserver(onBatch: ((event: BatchEvent) => void) | undefined): (event: BatchEvent) => void {
  return (event) => {
    try {
      onBatch?.(event);
    } catch {
      /* ignored on purpose */
    }
  };
}

/**
 * Creates a batcher.
 * @param options - limits and the batch runner
 */
export function createBatcher<I, O>(options: BatcherOptions<I, O>): Batcher<I, O> {
  checkOptions(options as BatcherOptions<unknown, unknown>);
  const { name, maxBatch, maxWaitMs, capacity, timeoutMs, run, onBatch } = options;
  const queue: Entry<I, O>[] = [];
  /** The pending deferred start of a partial batch. */
  let wait: { cancel: () => void } | undefined;
  let inflight: Promise<void> | undefined;
  let closed = false;

  const observe = safeObserver(onBatch);

  const timeoutError = (): AppError =>
    new AppError('INFERENCE_FAILED', `Model ${name}: inference did not finish within ${timeoutMs} ms.`);

  function onTimeout(entry: Entry<I, O>): void {
    if (entry.state === 'queued') {
      const i = queue.indexOf(entry);
      if (i >= 0) queue.splice(i, 1);
    }
    settle(entry, { error: timeoutError() });
  }

  function schedule(): void {
    if (closed || inflight !== undefined || queue.length === 0) return;
    if (queue.length >= maxBatch) {
      flush();
      return;
    }
    const oldest = queue[0];
    if (wait === undefined && oldest !== undefined) {
      wait = deferStart(maxWaitMs - (performance.now() - oldest.enqueuedAt), () => {
        wait = undefined;
        if (inflight === undefined) flush();
      });
    }
  }

  function flush(): void {
    wait?.cancel();
    wait = undefined;
    const batch = queue.splice(0, maxBatch);
    if (batch.length === 0) return;
    for (const e of batch) e.state = 'running';
    const started = performance.now();
    let pending: Promise<readonly O[]>;
    try {
      pending = run(batch.map((e) => e.item));
    } catch (err) {
      pending = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    inflight = pending.then(
      (outputs) => {
        const now = performance.now();
        observe({ size: batch.length, ms: now - started, ok: true });
        settleBatch(batch, outputs, now, name, timeoutError);
      },
      (cause: unknown) => {
        observe({ size: batch.length, ms: performance.now() - started, ok: false });
        const err = cause instanceof AppError ? cause : new AppError('INFERENCE_FAILED', `Model ${name} failed to run.`, { cause });
        for (const e of batch) settle(e, { error: err });
      },
    ).finally(() => {
      inflight = undefined;
      if (queue.length > 0) flush();
    });
  }

  return {
    submit(items: readonly I[]): Promise<O[]> {
      if (closed) return Promise.reject(new AppError('MODEL_UNAVAILABLE', `Model ${name} is shutting down.`));
      if (items.length === 0) return Promise.resolve([]);
      if (queue.length + items.length > capacity) {
        return Promise.reject(new AppError('INFERENCE_BUSY', `Model ${name}: the inference queue is full (${capacity} waiting); retry later.`));
      }
      const promises = items.map((item) => enqueue(queue, item, timeoutMs, onTimeout));
      schedule();
      return Promise.all(promises);
    },

    queued(): number {
      return queue.length;
    },

    async close(): Promise<void> {
      closed = true;
      wait?.cancel();
      wait = undefined;
      const err = new AppError('MODEL_UNAVAILABLE', `Model ${name} is shutting down.`);
      for (const e of queue.splice(0)) settle(e, { error: err });
      // Wait until no batch runs: the session may only be released after its last run.
      while (inflight !== undefined) await inflight.catch(() => undefined);
    },
  };
}
